"""Reads of the catalog, as customers see it."""

from datetime import datetime

from django.db.models import BooleanField, Case, Count, Exists, OuterRef, Q, QuerySet, When
from django.utils import timezone

from shop.access.models import RENEWAL_GRACE, ChatAccess
from shop.access.selectors import memberships_active
from shop.models import CatalogVersion, Category, Product
from shop.prepared import Prepared
from shop.selectors.purchases import owned_by

_CATALOG_VERSION = Prepared(lambda: CatalogVersion.objects.filter(pk=1).values_list("version", flat=True)[:1])


def catalog_version() -> int:
    """The number every catalog change bumps (one primary-key read): what cached screens are keyed by."""
    return _CATALOG_VERSION.first() or 0


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
    """The product (with its category) if it is on sale or the user owns it, annotated with `owned`.

    A buyer keeps access to what they bought after it goes off sale.
    """
    return _PRODUCT_FOR_USER.first(product_id=product_id, telegram_id=telegram_id, **now_and_grace())


def product_get_with_ownership(*, product_id: int, telegram_id: int) -> Product | None:
    """The product, on sale or not, annotated with `owned` (and `gives_chat_access`)."""
    return _PRODUCT_WITH_OWNERSHIP.first(product_id=product_id, telegram_id=telegram_id, **now_and_grace())


def products_with_ownership(
    *, telegram_id: int, now: datetime | None = None, grace_from: datetime | None = None
) -> QuerySet[Product]:
    """Products annotated with `owned`: whether `telegram_id` has them (no extra query).

    A product opening a chat (shop.access, annotated `gives_chat_access`) is theirs while their access lasts
    (at `now`; `grace_from`: see shop.access.selectors.paid_q).
    """
    membership = memberships_active(telegram_id=telegram_id, product_ref=OuterRef("pk"), now=now, grace_from=grace_from)
    return Product.objects.annotate(
        gives_chat_access=Exists(ChatAccess.objects.filter(product_id=OuterRef("pk"))),
        owned=Case(
            When(gives_chat_access=True, then=Exists(membership)),
            default=Exists(owned_by(telegram_id=telegram_id, product_ref=OuterRef("pk"))),
            output_field=BooleanField(),
        ),
    )


def now_and_grace() -> dict[str, datetime]:
    """The `now` and `grace_from` of an ownership read (see products_with_ownership), as of this moment."""
    now = timezone.now()
    return {"now": now, "grace_from": now - RENEWAL_GRACE}


# The card's, the checkout's and the payment's lookup: compiled once (shop.prepared), about 1 ms of CPU less each.
_OWNERSHIP_VALUES = {"product_id": int, "telegram_id": int, "now": datetime, "grace_from": datetime}
_PRODUCT_FOR_USER = Prepared(
    lambda product_id, telegram_id, now, grace_from: (
        products_with_ownership(telegram_id=telegram_id, now=now, grace_from=grace_from)
        .select_related("category")
        .filter(Q(is_active=True) | Q(owned=True), id=product_id)[:1]
    ),
    **_OWNERSHIP_VALUES,
)
_PRODUCT_WITH_OWNERSHIP = Prepared(
    lambda product_id, telegram_id, now, grace_from: products_with_ownership(
        telegram_id=telegram_id, now=now, grace_from=grace_from
    ).filter(pk=product_id)[:1],
    **_OWNERSHIP_VALUES,
)
