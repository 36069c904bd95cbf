"""Purchases and payments: the money history, never edited and never deleted."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from shop.models.base import TimeStampedModel
from shop.models.catalog import Product
from shop.models.customers import User


class PurchaseQuerySet(models.QuerySet):
    def real(self) -> "PurchaseQuerySet":
        """Leaving out test purchases (staff trying the bot): what revenue, exports and counts are made of."""
        return self.exclude(payment_type=Purchase.PaymentType.TEST)

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
        TEST = "test", _("Test (not paid)")  # a test customer's, in "Try the bot": counts nowhere

    class Status(models.TextChoices):
        PAID = "paid", _("Paid")
        REFUNDED = "refunded", _("Refunded")

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="purchases", verbose_name=_("customer"))
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="purchases", verbose_name=_("product"))
    price = models.PositiveIntegerField(_("price paid"), help_text=_("For all units together."))
    quantity = models.PositiveIntegerField(_("quantity"), default=1, help_text=_("Units bought from stock (1 otherwise)."))
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
    # host:pid of the process holding the claim, so a worker process that died frees its claims at once
    delivery_claimed_by = models.CharField(_("delivery started by"), max_length=100, blank=True, editable=False)
    delivery_error = models.CharField(_("last delivery error"), max_length=255, blank=True)
    refunded_at = models.DateTimeField(_("refunded"), null=True, blank=True)

    objects = PurchaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("purchase")
        verbose_name_plural = _("purchases")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="purchase_price_non_negative"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="purchase_quantity_positive"),
            models.CheckConstraint(
                condition=Q(payment_type__in=["stars", "provider", "free", "manual", "test"]),
                name="purchase_payment_type_valid",
            ),
            models.CheckConstraint(
                condition=~Q(payment_type="test") | Q(payment_id__startswith="test:"),
                name="purchase_test_payment_id",
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
    refunded_at = models.DateTimeField(
        _("refunded"), null=True, blank=True, help_text=_("When Telegram told the bot the payment was given back.")
    )

    class Meta:
        verbose_name = _("unmatched payment")
        verbose_name_plural = _("unmatched payments")
        ordering = ["-created_at"]

    def __str__(self):
        return self.payment_id
