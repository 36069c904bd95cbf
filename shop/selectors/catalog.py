"""Reads of the catalog, as customers see it."""

from django.db.models import BooleanField, Case, Count, Exists, OuterRef, Q, QuerySet, When

from shop.access.models import ChatAccess
from shop.access.selectors import memberships_active
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
    """Products annotated with `owned`: whether `telegram_id` has them (no extra query).

    A product opening a chat (shop.access, annotated `gives_chat_access`) is theirs while their access lasts.
    """
    return Product.objects.annotate(
        gives_chat_access=Exists(ChatAccess.objects.filter(product_id=OuterRef("pk"))),
        owned=Case(
            When(gives_chat_access=True, then=Exists(memberships_active(telegram_id=telegram_id, product_ref=OuterRef("pk")))),
            default=Exists(owned_by(telegram_id=telegram_id, product_ref=OuterRef("pk"))),
            output_field=BooleanField(),
        ),
    )
