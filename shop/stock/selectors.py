"""Reads of stock: what is left to sell (counted only as far as it matters), and who holds which units."""

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from shop.models import Purchase
from shop.prepared import Prepared
from shop.stock.models import StockUnit


def stock_available_count(*, product_id: int, up_to: int) -> int:
    """Units on sale now, counted up to `up_to` (a card needs no more: the query stays flat in stock size)."""
    return StockUnit.objects.filter(product_id=product_id).available()[:up_to].count()


_UNITS_OF_PURCHASE = Prepared(  # after every payment for units, and on each delivery again: compiled once
    lambda purchase_id: StockUnit.objects.filter(purchase_id=purchase_id).order_by("id"), purchase_id=int
)


def units_of_purchase(*, purchase: Purchase) -> list[StockUnit]:
    return _UNITS_OF_PURCHASE.all(purchase_id=purchase.pk)


def units_owned(*, telegram_id: int, product_id: int) -> list[StockUnit]:
    """The units a customer has of a product: from their purchases that give access, oldest first."""
    owned = Purchase.objects.giving_access().filter(user__telegram_id=telegram_id, product_id=product_id)
    return list(StockUnit.objects.filter(purchase__in=owned).order_by("purchase_id", "id"))


def _count(filter_: Q) -> Coalesce:
    units = (
        StockUnit.objects.filter(filter_, product_id=OuterRef("pk"))
        .order_by()
        .values("product_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Coalesce(Subquery(units, output_field=IntegerField()), 0)


def with_stock_figures(products: QuerySet) -> QuerySet:
    """Products annotated with `units_unsold` and `units_sold` (for staff lists: one query for the page)."""
    return products.annotate(
        units_unsold=_count(Q(purchase__isnull=True)),
        units_sold=_count(Q(purchase__isnull=False, returned_at__isnull=True)),
    )
