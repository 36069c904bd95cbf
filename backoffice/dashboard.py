"""Reads for the admin's dashboard: customers, sales per currency, the last 30 days, best sellers.

Every figure is a database aggregate, and the number of queries does not depend on how many
customers or purchases there are. Amounts in different currencies are never added together.
"""

import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from shop.models import Purchase, User
from shop.money import Money, shop_currency_first
from shop.trial import real_customers

CHART_DAYS = 30
PERIOD_DAYS = (1, 7, CHART_DAYS)  # today, the last week, the last month (calendar days, today included)
TOP_PRODUCTS = 5
RECENT_PURCHASES = 10


@dataclass
class Day:
    date: datetime.date
    purchases: int = 0
    revenue: dict[str, int] = field(default_factory=dict)  # currency -> amount
    discount: dict[str, int] = field(default_factory=dict)  # currency -> given through promo codes

    def revenue_in(self, currency: str) -> int:
        return self.revenue.get(currency, 0)


@dataclass
class Period:
    days: int
    since: datetime.datetime
    new_customers: int
    purchases: int
    revenue: list[Money]  # one per dashboard currency, in their order


@dataclass
class ProductSales:
    product_id: int
    name: str
    units: int
    revenue: list[Money]  # one per dashboard currency, in their order


@dataclass
class Dashboard:
    customers_total: int
    currencies: list[str]
    periods: list[Period]
    days: list[Day]
    top_by_units: list[ProductSales]
    top_by_revenue: list[ProductSales]
    recent_purchases: list[Purchase]
    discounts: list[Money] = field(default_factory=list)  # given through promo codes over the longest period


def start_of_day(date: datetime.date) -> datetime.datetime:
    """Midnight of `date` in the current time zone."""
    return timezone.make_aware(datetime.datetime.combine(date, datetime.time.min))


def _sales() -> QuerySet[Purchase]:
    """Purchases that count as sales: paid and not refunded (free and granted ones at price 0); never test ones."""
    return Purchase.objects.real().filter(status=Purchase.Status.PAID)


def sales_by_day(*, today: datetime.date, days: int = CHART_DAYS) -> list[Day]:
    """One entry per calendar day (oldest first, `today` last), days without sales included."""
    first = today - datetime.timedelta(days=days - 1)
    rows = (
        _sales()
        .filter(created_at__gte=start_of_day(first), created_at__lt=start_of_day(today + datetime.timedelta(days=1)))
        .annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .values("day", "currency")
        .annotate(
            purchases=Count("id"),
            revenue=Sum("price"),
            discount=Sum(F("promo__list_price") - F("promo__price_paid"), default=0),  # one use per purchase at most
        )
        .order_by()
    )
    by_date = {first + datetime.timedelta(days=i): Day(first + datetime.timedelta(days=i)) for i in range(days)}
    for row in rows:
        day = by_date[row["day"]]
        day.purchases += row["purchases"]
        day.revenue[row["currency"]] = day.revenue.get(row["currency"], 0) + row["revenue"]
        day.discount[row["currency"]] = day.discount.get(row["currency"], 0) + row["discount"]
    return list(by_date.values())


def dashboard_currencies(days: list[Day]) -> list[str]:
    """The shop's currency first (shown even with no sales), then any other currency sold."""
    sold = {currency for day in days for currency in day.revenue}
    return sorted(sold | {settings.SHOP_CURRENCY}, key=shop_currency_first)


def customer_counts(*, since: list[datetime.datetime]) -> tuple[int, list[int]]:
    """All customers, and how many started the bot since each moment in `since`."""
    totals = User.objects.filter(real_customers()).aggregate(
        total=Count("id"), **{f"new_{i}": Count("id", filter=Q(created_at__gte=moment)) for i, moment in enumerate(since)}
    )
    return totals["total"], [totals[f"new_{i}"] for i in range(len(since))]


def product_sales(*, since: datetime.datetime, until: datetime.datetime, currencies: list[str]) -> list[ProductSales]:
    """Every product sold from `since` to `until`, with units and revenue per currency: one row per product."""
    revenue = {f"revenue_{i}": Sum("price", filter=Q(currency=c), default=0) for i, c in enumerate(currencies)}
    rows = (
        _sales()
        .filter(created_at__gte=since, created_at__lt=until)
        .values("product_id", "product__name")
        .annotate(units=Count("id"), **revenue)
        .order_by()
    )
    return [
        ProductSales(
            product_id=row["product_id"],
            name=row["product__name"],
            units=row["units"],
            revenue=[Money(row[f"revenue_{i}"], c) for i, c in enumerate(currencies)],
        )
        for row in rows
    ]


def _earned(sales: ProductSales) -> tuple[int, ...]:
    # Revenue compares by the first currency, then the next: amounts in different currencies are never added.
    return tuple(money.amount for money in sales.revenue)


def top_by_units(sales: list[ProductSales], *, limit: int = TOP_PRODUCTS) -> list[ProductSales]:
    return sorted(sales, key=lambda s: (-s.units, *(-amount for amount in _earned(s)), s.name))[:limit]


def top_by_revenue(sales: list[ProductSales], *, limit: int = TOP_PRODUCTS) -> list[ProductSales]:
    """Products that earned money, best first (free products are left out)."""
    earners = [s for s in sales if any(_earned(s))]
    return sorted(earners, key=lambda s: (*(-amount for amount in _earned(s)), -s.units, s.name))[:limit]


def recent_purchases(*, limit: int = RECENT_PURCHASES) -> list[Purchase]:
    return list(Purchase.objects.real().select_related("user", "product").order_by("-created_at", "-id")[:limit])


def dashboard_get(*, now: datetime.datetime | None = None) -> Dashboard:
    """Everything the admin's front page shows, in four queries."""
    today = timezone.localdate(now)
    days = sales_by_day(today=today)
    currencies = dashboard_currencies(days)
    starts = [start_of_day(today - datetime.timedelta(days=n - 1)) for n in PERIOD_DAYS]
    customers_total, new_customers = customer_counts(since=starts)
    periods = []
    for n, since, new in zip(PERIOD_DAYS, starts, new_customers, strict=True):
        # The periods are whole days, so each one's sales are the sum of its days' aggregates.
        recent = days[-n:]
        periods.append(
            Period(
                days=n,
                since=since,
                new_customers=new,
                purchases=sum(day.purchases for day in recent),
                revenue=[Money(sum(day.revenue_in(c) for day in recent), c) for c in currencies],
            )
        )
    tomorrow = start_of_day(today + datetime.timedelta(days=1))
    sold = product_sales(since=starts[-1], until=tomorrow, currencies=currencies)
    return Dashboard(
        customers_total=customers_total,
        currencies=currencies,
        periods=periods,
        days=days,
        top_by_units=top_by_units(sold),
        top_by_revenue=top_by_revenue(sold),
        recent_purchases=recent_purchases(),
        discounts=[Money(amount, c) for c in currencies if (amount := sum(day.discount.get(c, 0) for day in days))],
    )
