"""Broadcasts: a message staff send to many customers, one recipient row per customer."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from shop.models.base import TimeStampedModel
from shop.models.catalog import Product
from shop.models.customers import User
from shop.telegram_html import validate_telegram_html, visible_length, visible_text

BROADCAST_TEXT_MAX_LENGTH = 4096  # one Telegram message


class Broadcast(TimeStampedModel):
    """A message staff send to many customers at once; one BroadcastRecipient row per customer."""

    class Audience(models.TextChoices):
        ALL = "all", _("All customers")
        PRODUCT_BUYERS = "buyers", _("Buyers of a product")
        SELECTED = "selected", _("Selected customers")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SENDING = "sending", _("Sending")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    text = models.TextField(
        _("message"),
        validators=[validate_telegram_html],
        help_text=_("One Telegram message. Telegram formatting is allowed: b, i, u, s, a href, code, pre."),
    )
    audience = models.CharField(_("recipients"), max_length=16, choices=Audience.choices, default=Audience.ALL)
    product = models.ForeignKey(
        Product,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("product"),
        help_text=_("For “Buyers of a product”: customers who paid for it and were not refunded."),
    )
    button_product = models.ForeignKey(
        Product,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("button to a product"),
        help_text=_("Optional: a button under the message opens this product's card in the bot."),
    )
    # Sent by the shop when a product customers waited for came back: each gets it in their language.
    is_restock = models.BooleanField(default=False, editable=False)
    selected_users = models.ManyToManyField(
        User,
        blank=True,
        related_name="+",
        verbose_name=_("selected customers"),
        help_text=_("For “Selected customers”; or select them in the customer list: “Message selected customers…”."),
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("broadcast")
        verbose_name_plural = _("broadcasts")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(audience__in=["all", "buyers", "selected"]), name="broadcast_audience_valid"),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "sending", "done", "cancelled"]), name="broadcast_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(audience="buyers") | Q(product__isnull=False),
                name="broadcast_buyers_have_product",
                violation_error_message=_("Choose the product whose buyers receive the message."),
            ),
            models.CheckConstraint(condition=Q(status="draft") | Q(started_at__isnull=False), name="broadcast_started_has_date"),
        ]
        indexes = [models.Index(fields=["status", "started_at"], name="broadcast_status_started")]

    def __str__(self):
        text = visible_text(self.text).strip().replace("\n", " ")
        return text if len(text) <= 60 else text[:59].rstrip() + "…"

    def clean(self):
        errors = {}
        if not visible_text(self.text).strip():
            errors["text"] = _("Write the message.")
        elif visible_length(self.text) > BROADCAST_TEXT_MAX_LENGTH:
            errors["text"] = _("Keep the message to at most %(n)d characters (one Telegram message).") % {
                "n": BROADCAST_TEXT_MAX_LENGTH
            }
        if self.audience == self.Audience.PRODUCT_BUYERS and self.product_id is None:
            errors["product"] = _("Choose the product whose buyers receive the message.")
        if errors:
            raise ValidationError(errors)


class BroadcastRecipient(models.Model):
    """One customer's copy of a broadcast. Claimed before sending, so no customer gets it twice."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        BLOCKED = "blocked", _("Blocked the bot")
        CANCELLED = "cancelled", _("Cancelled")

    broadcast = models.ForeignKey(Broadcast, on_delete=models.CASCADE, related_name="recipients")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+", verbose_name=_("customer"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    # A sender takes a few recipients at a time: its token marks them as its own until the claim runs out.
    claim_token = models.CharField(max_length=32, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Set right before the message goes to Telegram: a send whose outcome nobody recorded is never repeated.
    attempted_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("broadcast recipient")
        verbose_name_plural = _("broadcast recipients")
        constraints = [
            models.UniqueConstraint(fields=["broadcast", "user"], name="broadcastrecipient_unique_user"),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "sent", "failed", "blocked", "cancelled"]),
                name="broadcastrecipient_status_valid",
            ),
        ]
        indexes = [models.Index(fields=["broadcast", "status"], name="broadcastrecipient_progress")]

    def __str__(self):
        return f"{self.user} ({self.get_status_display()})"
