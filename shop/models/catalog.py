"""The catalog: categories and the products a buyer receives."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from shop.models.base import TimeStampedModel
from shop.telegram_html import validate_telegram_html, visible_length

DESCRIPTION_MAX_LENGTH = 3000  # leaves room for name and price in a 4096-char card


HIDDEN_CONTENT_MAX_LENGTH = 4000  # one Telegram message


BOT_UPLOAD_LIMIT = 50 * 1024 * 1024  # what a bot may upload to Telegram


def validate_bot_upload_size(file) -> None:
    if file and file.size > BOT_UPLOAD_LIMIT:
        raise ValidationError(_("Telegram accepts files of up to 50 MB from a bot; this one is larger."))


class Category(TimeStampedModel):
    category_name = models.CharField(_("name"), max_length=100, unique=True)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["category_name"]

    def __str__(self):
        return self.category_name


class Product(TimeStampedModel):
    name = models.CharField(_("name"), max_length=128)
    description = models.TextField(
        _("description"),
        blank=True,
        validators=[validate_telegram_html],
        help_text=_(
            "Shown on the product card. Telegram formatting is allowed: bold, italic, underline, "
            "strikethrough, links, code (HTML tags b, i, u, s, a href, code, pre)."
        ),
    )
    price = models.PositiveIntegerField(
        _("price"), help_text=_("Whole units of the shop currency (Stars by default). 0 makes it free.")
    )
    file = models.FileField(
        _("file"),
        upload_to="products/",
        blank=True,
        validators=[validate_bot_upload_size],
        help_text=_("A file the buyer receives (up to 50 MB). Sent to Telegram once, then reused by its file id."),
    )
    file_id = models.CharField(
        _("Telegram file id"),
        max_length=255,
        blank=True,
        help_text=_(
            "The file as Telegram knows it. Filled in after the first delivery of an uploaded file; "
            "or paste one here (send the file to the bot from a staff account to get its id)."
        ),
    )
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products", verbose_name=_("category"))
    hidden_content = models.TextField(
        _("hidden content"),
        blank=True,
        validators=[validate_telegram_html],
        help_text=_("What the buyer receives after paying: a key, a link, instructions. Telegram formatting is allowed."),
    )
    is_active = models.BooleanField(
        _("on sale"), default=True, help_text=_("Untick to take the product off sale without deleting it.")
    )

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="product_price_non_negative"),
            models.CheckConstraint(
                condition=~Q(hidden_content="") | ~Q(file_id="") | ~Q(file=""),
                name="product_delivers_something",
                violation_error_message=_("A product must deliver something: hidden content, a file, or both."),
            ),
        ]
        indexes = [models.Index(fields=["category", "is_active", "name"], name="product_category_listing")]

    def __str__(self):
        return self.name

    def clean(self):
        errors = {}
        if visible_length(self.description) > DESCRIPTION_MAX_LENGTH:
            errors["description"] = _("Keep the description to at most %(n)d characters (Telegram's message limit).") % {
                "n": DESCRIPTION_MAX_LENGTH
            }
        if visible_length(self.hidden_content) > HIDDEN_CONTENT_MAX_LENGTH:
            errors["hidden_content"] = _("Keep the hidden content to at most %(n)d characters (one Telegram message).") % {
                "n": HIDDEN_CONTENT_MAX_LENGTH
            }
        if errors:
            raise ValidationError(errors)

    @property
    def currency(self) -> str:
        return settings.SHOP_CURRENCY

    @property
    def has_file(self) -> bool:
        return bool(self.file_id or self.file)
