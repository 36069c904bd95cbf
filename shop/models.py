from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from shop.telegram_html import validate_telegram_html, visible_length, visible_text

DESCRIPTION_MAX_LENGTH = 3000  # leaves room for name and price in a 4096-char card
HIDDEN_CONTENT_MAX_LENGTH = 4000  # one Telegram message


BOT_UPLOAD_LIMIT = 50 * 1024 * 1024  # what a bot may upload to Telegram


def validate_bot_upload_size(file) -> None:
    if file and file.size > BOT_UPLOAD_LIMIT:
        raise ValidationError(_("Telegram accepts files of up to 50 MB from a bot; this one is larger."))


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        abstract = True


class User(TimeStampedModel):
    """A Telegram user who talked to the bot (a customer)."""

    telegram_id = models.BigIntegerField(_("Telegram id"), unique=True)
    username = models.CharField(_("username"), max_length=64, blank=True, db_index=True)
    first_name = models.CharField(_("first name"), max_length=255, blank=True)
    last_name = models.CharField(_("last name"), max_length=255, blank=True)
    language_code = models.CharField(_("language"), max_length=35, blank=True)
    is_blocked = models.BooleanField(
        _("blocked the bot"), default=False, help_text=_("The user blocked the bot; messages to them fail.")
    )

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["-created_at"]

    def __str__(self):
        if self.username:
            return f"@{self.username}"
        name = " ".join(p for p in (self.first_name, self.last_name) if p)
        return name or str(self.telegram_id)


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


class PurchaseQuerySet(models.QuerySet):
    def giving_access(self) -> "PurchaseQuerySet":
        """Purchases whose buyer may have the content: paid, not refunded, nothing for staff to check."""
        return self.filter(status=Purchase.Status.PAID, review_reason="")


class Purchase(TimeStampedModel):
    """A paid (or granted) product. Financial history: never edited, never deleted."""

    class PaymentType(models.TextChoices):
        STARS = "stars", _("Telegram Stars")
        PROVIDER = "provider", _("Payment provider")
        FREE = "free", _("Free")
        MANUAL = "manual", _("Granted by staff")

    class Status(models.TextChoices):
        PAID = "paid", _("Paid")
        REFUNDED = "refunded", _("Refunded")

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="purchases", verbose_name=_("customer"))
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="purchases", verbose_name=_("product"))
    price = models.PositiveIntegerField(_("price paid"))
    currency = models.CharField(_("currency"), max_length=3)
    payment_type = models.CharField(_("payment type"), max_length=16, choices=PaymentType.choices)
    payment_id = models.CharField(_("payment id"), max_length=255, unique=True)
    provider_payment_id = models.CharField(_("provider payment id"), max_length=255, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PAID)
    review_reason = models.CharField(
        _("needs review"),
        max_length=255,
        blank=True,
        help_text=_("Why staff must look at this payment before the content is handed out."),
    )
    delivered_at = models.DateTimeField(_("content delivered"), null=True, blank=True)
    delivery_claimed_at = models.DateTimeField(_("delivery started"), null=True, blank=True)
    delivery_error = models.CharField(_("last delivery error"), max_length=255, blank=True)
    refunded_at = models.DateTimeField(_("refunded"), null=True, blank=True)

    objects = PurchaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("purchase")
        verbose_name_plural = _("purchases")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="purchase_price_non_negative"),
            models.CheckConstraint(
                condition=Q(payment_type__in=["stars", "provider", "free", "manual"]),
                name="purchase_payment_type_valid",
            ),
            models.CheckConstraint(condition=Q(status__in=["paid", "refunded"]), name="purchase_status_valid"),
            models.CheckConstraint(
                condition=Q(status="paid", refunded_at__isnull=True) | Q(status="refunded", refunded_at__isnull=False),
                name="purchase_refunded_has_date",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="purchase_user_recent"),
            models.Index(fields=["user", "product"], name="purchase_user_product"),
        ]

    def __str__(self):
        return f"{self.product} → {self.user} ({self.payment_id})"

    @property
    def gives_access(self) -> bool:
        """The buyer may have the content: paid, not refunded, nothing for staff to check.

        The same rule as PurchaseQuerySet.giving_access(), for a purchase already in hand.
        """
        return self.status == self.Status.PAID and not self.review_reason


class UnmatchedPayment(TimeStampedModel):
    """Money Telegram took for an invoice we cannot match to a product (kept, staff alerted)."""

    telegram_id = models.BigIntegerField(_("Telegram id of the payer"))
    payment_id = models.CharField(_("payment id"), max_length=255, unique=True)
    provider_payment_id = models.CharField(_("provider payment id"), max_length=255, blank=True)
    amount = models.PositiveBigIntegerField(_("amount (smallest unit)"))
    currency = models.CharField(_("currency"), max_length=3)
    payload = models.CharField(_("invoice payload"), max_length=255)
    reason = models.CharField(_("reason"), max_length=255)

    class Meta:
        verbose_name = _("unmatched payment")
        verbose_name_plural = _("unmatched payments")
        ordering = ["-created_at"]

    def __str__(self):
        return self.payment_id


class BotText(TimeStampedModel):
    """Texts staff edit in the admin (help, terms, payment support), one per language."""

    class Key(models.TextChoices):
        HELP = "help", _("Help")
        TERMS = "terms", _("Terms of sale (/terms)")
        PAYSUPPORT = "paysupport", _("Payment support (/paysupport)")

    key = models.CharField(_("kind"), max_length=32, choices=Key.choices)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    text = models.TextField(_("text"), validators=[validate_telegram_html], help_text=_("Telegram formatting is allowed."))

    class Meta:
        verbose_name = _("bot text")
        verbose_name_plural = _("bot texts")
        ordering = ["key", "language"]
        constraints = [models.UniqueConstraint(fields=["key", "language"], name="bottext_unique_key_language")]

    def __str__(self):
        return f"{self.get_key_display()} ({self.language})"

    def clean(self):
        if visible_length(self.text) > HIDDEN_CONTENT_MAX_LENGTH:
            raise ValidationError(
                {
                    "text": _("Keep the text to at most %(n)d characters (one Telegram message).")
                    % {"n": HIDDEN_CONTENT_MAX_LENGTH}
                }
            )


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
