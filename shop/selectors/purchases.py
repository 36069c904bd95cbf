"""Reads of purchases: who has what, what is still to be delivered, and the money per currency."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from django.core.paginator import Page, Paginator
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum, Window

from shop.access.models import Membership
from shop.models import Purchase
from shop.money import Money, shop_currency_first
from shop.prepared import Prepared


def owned_by(*, telegram_id: int, product_ref) -> QuerySet[Purchase]:
    """Purchases that give `telegram_id` the product (`product_ref`: an id or an OuterRef)."""
    return Purchase.objects.giving_access().filter(user__telegram_id=telegram_id, product_id=product_ref)


def purchase_list_for_user(*, telegram_id: int) -> QuerySet[Purchase]:
    """What the user has: paid, not refunded, not waiting for staff review.

    A purchase of a chat's access (shop.access) carries the access's state (`access_state`, `access_until`,
    `access_renewing`, `access_for_good`; None for other products) and a subscription shows once, not once a
    month.
    """
    membership = Membership.objects.filter(user_id=OuterRef("user_id"), product_id=OuterRef("product_id"))
    return (
        Purchase.objects.giving_access()
        .filter(user__telegram_id=telegram_id)
        .exclude(access_period__renewal=True)
        .annotate(
            access_state=Subquery(membership.values("state")[:1]),
            access_until=Subquery(membership.values("paid_until")[:1]),
            access_renewing=Subquery(membership.values("renewing")[:1]),
            access_for_good=Subquery(membership.values("for_good")[:1]),
        )
        .select_related("product")
        .order_by("-created_at", "-id")
    )


def purchase_page_for_user(*, telegram_id: int, number: int, per_page: int) -> Page:
    """Page `number` of purchase_list_for_user (out of range: the last page), in one query: the page's rows
    carry the count of them all (a window count), and each page's read is prepared (shop.prepared)."""
    number = min(max(1, number), MAX_PAGE)  # a forged button's page beyond any list: the last page, as below
    rows = _purchase_page(number, per_page).all(telegram_id=telegram_id)
    if rows or number == 1:
        return _page(rows, number, per_page)
    # beyond the last page (purchases refunded since its button was made): the last page there is
    first = _purchase_page(1, per_page).all(telegram_id=telegram_id)
    last = -(-first[0].listed // per_page) if first else 1
    if last == 1:
        return _page(first, 1, per_page)
    return _page(_purchase_page(last, per_page).all(telegram_id=telegram_id), last, per_page)


class _Counted:
    """What a Paginator needs of the whole list when its size is known: the size."""

    def __init__(self, size: int):
        self.size = size

    def __len__(self) -> int:
        return self.size


def _page(rows: list, number: int, per_page: int) -> Page:
    return Page(rows, number, Paginator(_Counted(rows[0].listed if rows else 0), per_page))


MAX_PAGE = 10_000  # far beyond any customer's list; a page's offset must stay a number the database takes


@lru_cache(maxsize=32)  # a page's offset is part of its SQL: one prepared read per page asked for
def _purchase_page(number: int, per_page: int) -> Prepared:
    start = (number - 1) * per_page
    return Prepared(
        lambda telegram_id: purchase_list_for_user(telegram_id=telegram_id).annotate(listed=Window(Count("pk")))[
            start : start + per_page
        ],
        telegram_id=int,
    )


def purchase_list_undelivered() -> QuerySet[Purchase]:
    """Paid purchases whose content has not reached a buyer who can still be reached.

    Content Telegram refused (a 400: bad file id, say) waits for staff, who fix the product and
    use "Deliver content"; sending it again by itself would only fail again.
    """
    return (
        Purchase.objects.giving_access()
        .real()  # a test purchase is delivered in "Try the bot" only, never over the network
        .filter(delivered_at__isnull=True, user__is_blocked=False)
        .exclude(delivery_error__startswith="400 ")
        .order_by("id")
    )


def purchase_list_undelivered_for_user(*, telegram_id: int) -> QuerySet[Purchase]:
    return Purchase.objects.giving_access().filter(user__telegram_id=telegram_id, delivered_at__isnull=True).order_by("id")


@dataclass(frozen=True)
class CurrencyTotal:
    currency: str
    purchases: int
    paid: Money  # what was taken and kept
    refunded: Money


def purchase_totals_by_currency(*, purchases: QuerySet[Purchase]) -> list[CurrencyTotal]:
    """Count and sums of `purchases` (any filtered list), per currency, in one query; test purchases
    (staff trying the bot) are no money and are left out."""
    rows = (
        purchases.exclude(payment_type=Purchase.PaymentType.TEST)
        .values("currency")
        .annotate(
            count=Count("id"),
            paid=Sum("price", filter=Q(status=Purchase.Status.PAID), default=0),
            refunded=Sum("price", filter=Q(status=Purchase.Status.REFUNDED), default=0),
        )
        .order_by()
    )
    totals = [
        CurrencyTotal(r["currency"], r["count"], Money(r["paid"], r["currency"]), Money(r["refunded"], r["currency"]))
        for r in rows
    ]
    return sorted(totals, key=lambda total: shop_currency_first(total.currency))


def user_spent_by_currency(*, user_ids: Iterable[int]) -> dict[int, list[Money]]:
    """What each customer paid and kept (refunds excluded), per currency, in one query."""
    rows = (
        Purchase.objects.real()
        .filter(user_id__in=list(user_ids), status=Purchase.Status.PAID)
        .values("user_id", "currency")
        .annotate(total=Sum("price"))
        .order_by()
    )
    spent = defaultdict(list)
    for row in sorted(rows, key=lambda row: shop_currency_first(row["currency"])):
        spent[row["user_id"]].append(Money(row["total"], row["currency"]))
    return dict(spent)


def product_revenue_by_currency(*, product_id: int) -> list[Money]:
    """What one product earned (refunds excluded), per currency."""
    rows = (
        Purchase.objects.real()
        .filter(product_id=product_id, status=Purchase.Status.PAID)
        .values("currency")
        .annotate(revenue=Sum("price"))
        .order_by()
    )
    return sorted((Money(r["revenue"], r["currency"]) for r in rows), key=lambda money: shop_currency_first(money.currency))
