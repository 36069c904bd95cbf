"""Units of stock, and customers waiting for a sold-out product to come back."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shop.models import Product, Purchase, User

UNIT_MAX_LENGTH = 1000  # a unit goes into a message, or a file's caption (1024 characters)


class StockUnitQuerySet(models.QuerySet):
    def available(self, now=None) -> "StockUnitQuerySet":
        """Unsold and not held for someone's checkout (a hold runs out at `reserved_until`)."""
        now = now or timezone.now()
        return self.filter(Q(reserved_until__isnull=True) | Q(reserved_until__lte=now), purchase__isnull=True)

    def unsold(self) -> "StockUnitQuerySet":
        return self.filter(purchase__isnull=True)

    def delete(self):
        """Only unsold units can be removed: a sold one is part of a purchase's history."""
        if self.filter(purchase__isnull=False).exists():
            raise ValidationError(_("Sold units are kept with their purchase and cannot be deleted."))
        return super().delete()


class StockUnit(models.Model):
    """One sellable unit of a product: a key, a code, `login:password`, a link; optionally a file.

    Sold: `purchase` is set (for good: sold units are never edited or deleted). A refunded unit staff
    put back in stock stays with its purchase, marked `returned_at`, and a copy goes on sale.
    """

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="units", verbose_name=_("product"))
    content = models.TextField(_("content"), help_text=_("Plain text, shown to the buyer ready to copy."))
    content_hash = models.CharField(max_length=64, editable=False)  # sha256: one of each unit per product
    file_id = models.CharField(_("Telegram file id"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("added"), default=timezone.now, editable=False)
    # Held for a checkout Telegram was told it may go ahead with: the invoice's reservation key.
    reservation = models.CharField(max_length=32, blank=True, editable=False)
    reserved_until = models.DateTimeField(_("held until"), null=True, blank=True, editable=False)
    purchase = models.ForeignKey(
        Purchase, on_delete=models.PROTECT, null=True, blank=True, related_name="units", verbose_name=_("purchase")
    )
    sold_at = models.DateTimeField(_("sold"), null=True, blank=True, editable=False)
    returned_at = models.DateTimeField(_("put back in stock"), null=True, blank=True, editable=False)

    objects = StockUnitQuerySet.as_manager()

    class Meta:
        verbose_name = _("unit of stock")
        verbose_name_plural = _("units of stock")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "content_hash"],
                condition=Q(returned_at__isnull=True),
                name="stockunit_unique_in_product",
                violation_error_message=_("This unit is already in the product's stock."),
            ),
            models.CheckConstraint(
                condition=Q(purchase__isnull=True, sold_at__isnull=True) | Q(purchase__isnull=False, sold_at__isnull=False),
                name="stockunit_sold_has_date",
            ),
            models.CheckConstraint(
                condition=Q(returned_at__isnull=True) | Q(purchase__isnull=False), name="stockunit_returned_was_sold"
            ),
        ]
        indexes = [
            # what is left to sell, in the order it is sold: flat in the size of the sold history
            models.Index(fields=["product", "id"], condition=Q(purchase__isnull=True), name="stockunit_unsold"),
            # the units held for a checkout (queries name `purchase IS NULL`, as SQLite needs to use it)
            models.Index(fields=["product", "reservation"], condition=Q(purchase__isnull=True), name="stockunit_held"),
        ]

    def __str__(self):
        return _("Unit #%(id)s of %(product)s") % {"id": self.pk, "product": self.product}

    def delete(self, *args, **kwargs):
        """Only while unsold, checked by the DELETE itself (a sale may have come since it was loaded)."""
        if self.purchase_id is not None or not StockUnit.objects.filter(pk=self.pk).unsold().delete()[0]:
            raise ValidationError(_("Sold units are kept with their purchase and cannot be deleted."))
        return 1, {self._meta.label: 1}

    @property
    def state(self) -> str:
        if self.returned_at:
            return "returned"
        if self.purchase_id:
            return "sold"
        if self.reserved_until and self.reserved_until > timezone.now():
            return "held"
        return "available"


class RestockRequest(models.Model):
    """A customer asked to be told when a sold-out product is back ("Notify me when back")."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+", verbose_name=_("customer"))
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="restock_requests", verbose_name=_("product"))
    created_at = models.DateTimeField(_("asked"), default=timezone.now)

    class Meta:
        verbose_name = _("back-in-stock request")
        verbose_name_plural = _("back-in-stock requests")
        constraints = [models.UniqueConstraint(fields=["product", "user"], name="restockrequest_once")]

    def __str__(self):
        return f"{self.user} → {self.product}"
