"""Reads of the catalog, as customers see it."""

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from shop.models import CatalogVersion, Category, Product
from shop.selectors.purchases import owned_by


def catalog_version() -> int:
    """The number every catalog change bumps (one primary-key read): what cached screens are keyed by."""
    return CatalogVersion.objects.filter(pk=1).values_list("version", flat=True).first() or 0


def category_list_on_sale() -> QuerySet[Category]:
    """Categories with at least one product on sale, each with `on_sale_count`."""
    return (
        Category.objects.annotate(on_sale_count=Count("products", filter=Q(products__is_active=True)))
        .filter(on_sale_count__gt=0)
        .order_by("category_name", "id")
    )


def category_get_on_sale(*, category_id: int) -> Category | None:
    return category_list_on_sale().filter(id=category_id).first()


def product_list_on_sale(*, category_id: int) -> QuerySet[Product]:
    return Product.objects.filter(category_id=category_id, is_active=True).order_by("name", "id")


def product_get_for_user(*, product_id: int, telegram_id: int) -> Product | None:
    """The product if it is on sale or the user owns it, annotated with `owned`.

    A buyer keeps access to what they bought after it goes off sale.
    """
    return (
        products_with_ownership(telegram_id=telegram_id)
        .select_related("category")
        .filter(Q(is_active=True) | Q(owned=True), id=product_id)
        .first()
    )


def products_with_ownership(*, telegram_id: int) -> QuerySet[Product]:
    """Products annotated with `owned`: whether `telegram_id` has them (no extra query)."""
    return Product.objects.annotate(owned=Exists(owned_by(telegram_id=telegram_id, product_ref=OuterRef("pk"))))
