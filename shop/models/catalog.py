"""The catalog: categories and the products a buyer receives."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from shop.models.base import TimeStampedModel
from shop.telegram_html import validate_telegram_html, visible_length

DESCRIPTION_MAX_LENGTH = 3000  # leaves room for name and price in a 4096-char card


HIDDEN_CONTENT_MAX_LENGTH = 4000  # one Telegram message

MAX_PER_ORDER = 100  # units one payment may buy, at most


BOT_UPLOAD_LIMIT = 50 * 1024 * 1024  # what a bot may upload to Telegram


def validate_bot_upload_size(file) -> None:
    if file and file.size > BOT_UPLOAD_LIMIT:
        raise ValidationError(_("Telegram accepts files of up to 50 MB from a bot; this one is larger."))


PICTURE_HELP = _("JPEG, PNG or WebP, up to 10 MB. Made at most 1280 pixels on its long side; transparency becomes white.")


class Category(TimeStampedModel):
    category_name = models.CharField(_("name"), max_length=100, unique=True)
    picture = models.ImageField(
        _("picture"),
        upload_to="pictures/categories/",
        blank=True,
        help_text=format_lazy("{} {}", _("Shown above the category's products in the bot."), PICTURE_HELP),
    )
    # Telegram's id of the uploaded picture: set after its first send, cleared when the picture changes.
    picture_file_id = models.CharField(max_length=255, blank=True, default="", editable=False)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["category_name"]

    def __str__(self):
        return self.category_name


class FileKind(models.TextChoices):
    """The kinds of file Telegram sends, each with its own Bot API method (sendDocument, sendPhoto...)."""

    DOCUMENT = "document", _("Document")
    PHOTO = "photo", _("Photo")
    VIDEO = "video", _("Video")
    AUDIO = "audio", _("Audio")
    VOICE = "voice", _("Voice message")
    ANIMATION = "animation", _("Animation (GIF)")


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
    file_kind = models.CharField(
        _("file kind"),
        max_length=16,
        choices=FileKind.choices,
        default=FileKind.DOCUMENT,
        help_text=_("How the buyer receives the file: a photo, a video... shows in the chat; a document is a download."),
    )
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products", verbose_name=_("category"))
    picture = models.ImageField(
        _("picture"),
        upload_to="pictures/products/",
        blank=True,
        help_text=format_lazy(
            "{} {}", _("The product card in the bot is this photo with the card's text under it."), PICTURE_HELP
        ),
    )
    # Telegram's id of the uploaded picture: set after its first send, cleared when the picture changes.
    picture_file_id = models.CharField(max_length=255, blank=True, default="", editable=False)
    hidden_content = models.TextField(
        _("hidden content"),
        blank=True,
        validators=[validate_telegram_html],
        help_text=_("What the buyer receives after paying: a key, a link, instructions. Telegram formatting is allowed."),
    )
    is_active = models.BooleanField(
        _("on sale"), default=True, help_text=_("Untick to take the product off sale without deleting it.")
    )
    # Stock of unique units (shop/stock): the product's own settings, on its row so a card needs no join.
    sells_units = models.BooleanField(
        _("sold from stock"),
        default=False,
        help_text=_(
            "Each buyer receives their own units (keys, codes, accounts) from this product's stock, "
            "as well as the hidden content and file, if any. Add units with “Add stock”."
        ),
    )
    max_per_order = models.PositiveSmallIntegerField(
        _("most units per order"),
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_PER_ORDER)],
        help_text=_("For products sold from stock: how many units one payment may buy."),
    )
    low_stock_threshold = models.PositiveIntegerField(
        _("low-stock alert at"),
        default=0,
        help_text=_("Staff are told once when the stock falls to this many units, and once when it runs out (0: only then)."),
    )
    stock_shown_up_to = models.PositiveIntegerField(
        _("show the number in stock up to"),
        default=100,
        validators=[MinValueValidator(1)],
        help_text=_("Above this many units the card says only “In stock”."),
    )
    # The last stock alert staff were sent ("low" or "out"), so each is sent once until stock is added.
    stock_alert = models.CharField(max_length=8, blank=True, default="", editable=False)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="product_price_non_negative"),
            models.CheckConstraint(
                condition=~Q(hidden_content="") | ~Q(file_id="") | ~Q(file="") | Q(sells_units=True),
                name="product_delivers_something",
                violation_error_message=_(
                    "A product must deliver something: hidden content, a file, units from stock, or several of these."
                ),
            ),
            models.CheckConstraint(
                condition=Q(max_per_order__gte=1, max_per_order__lte=MAX_PER_ORDER), name="product_max_per_order_valid"
            ),
            models.CheckConstraint(condition=Q(stock_alert__in=["", "low", "out"]), name="product_stock_alert_valid"),
            models.CheckConstraint(condition=Q(file_kind__in=FileKind.values), name="product_file_kind_valid"),
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


class CatalogVersion(models.Model):
    """One row: a number every change of categories and products bumps (shop.services.catalog.catalog_changed).

    Screens that are the same for every customer (the catalog, a category's page) are cached under it
    by the bot, so a change made anywhere (the admin is another process) shows at once.
    """

    version = models.PositiveBigIntegerField(default=0)

    def __str__(self):
        return str(self.version)
