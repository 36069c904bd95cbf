"""The admin's front page: customers, sales per currency, best sellers, recent purchases."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from backoffice.dashboard import dashboard_get, sales_by_day, start_of_day
from backoffice.testing import bulk_sales, count_queries, table_rows, url
from shop.models import Purchase, User
from shop.money import Money
from shop.testing.factories import ProductFactory, PurchaseFactory, UserFactory

pytestmark = pytest.mark.django_db

INDEX = reverse("admin:index")


@pytest.fixture
def moscow(settings):
    """Three hours ahead of UTC: a local day starts at 21:00 UTC the day before."""
    settings.TIME_ZONE = "Europe/Moscow"


def local(date: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return start_of_day(date) + datetime.timedelta(hours=hour, minutes=minute)


def periods(dashboard) -> dict[int, tuple[int, list[str]]]:
    """{days: (purchases, revenue as shown)} for today, 7 and 30 days."""
    return {p.days: (p.purchases, [str(m) for m in p.revenue]) for p in dashboard.periods}


# --- The page --------------------------------------------------------------------------------------


def test_front_page_shows_dashboard_above_the_app_list(admin_client, product):
    PurchaseFactory(product=product)
    PurchaseFactory(product=product, in_roubles=True, price=990)

    response = admin_client.get(INDEX)

    assert response.status_code == 200
    text = response.text
    assert text.index('id="shop-dashboard"') < text.index('id="content-main"')
    assert url("product_changelist") in text  # the usual app list is still there
    assert "Recent actions" in text
    assert "<svg" in text
    for shown in ("Customers", "Today", "Last 7 days", "Last 30 days", "Best sellers", "Top earners", "Recent purchases"):
        assert shown in text
    assert "⭐ 50" in text
    assert "990 ₽" in text
    # Nothing is fetched from another site (a chart library from a CDN, a web font): the admin works offline.
    # Checked on the attributes that load something, not on the page's text, where a random CSRF token may
    # spell anything.
    loaded = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)["']""", text, flags=re.IGNORECASE)
    assert loaded
    assert [link for link in loaded if re.match(r"(?:[a-z][a-z0-9+.-]*:)?//", link, flags=re.IGNORECASE)] == []
    assert "<script" not in text[text.index('id="shop-dashboard"') : text.index('id="content-main"')]


def test_customers_total_and_new(admin_client, moscow):
    now = timezone.now()
    today = timezone.localdate(now)
    for days_ago in (0, 0, 3, 10, 40):
        user = UserFactory()
        User.objects.filter(pk=user.pk).update(created_at=local(today - datetime.timedelta(days=days_ago), 0, 1))

    dashboard = dashboard_get(now=now)

    assert dashboard.customers_total == 5
    assert [p.new_customers for p in dashboard.periods] == [2, 3, 4]


# --- Money: per currency, refunds out, free in ------------------------------------------------------


def test_currencies_are_never_added_together(admin_client, product):
    PurchaseFactory(product=product)  # ⭐ 50
    PurchaseFactory(product=product)  # ⭐ 50
    PurchaseFactory(product=product, in_roubles=True, price=990)

    dashboard = dashboard_get()

    assert dashboard.currencies == ["XTR", "RUB"]
    assert periods(dashboard)[1] == (3, ["⭐ 100", "990 ₽"])
    assert dashboard.days[-1].revenue == {"XTR": 100, "RUB": 990}
    assert "1090" not in admin_client.get(INDEX).text


def test_roubles_shop_shows_its_currency_first(settings, product):
    settings.SHOP_CURRENCY = "RUB"
    PurchaseFactory(product=product)

    assert dashboard_get().currencies == ["RUB", "XTR"]


def test_refunds_are_excluded_and_free_purchases_count_at_no_revenue(product, category):
    PurchaseFactory(product=product)
    PurchaseFactory(product=product, refunded=True)
    free = ProductFactory(category=category, price=0)
    PurchaseFactory(product=free, price=0, payment_type=Purchase.PaymentType.FREE)
    PurchaseFactory(product=free, price=0, payment_type=Purchase.PaymentType.MANUAL, payment_id="manual:1")

    dashboard = dashboard_get()

    assert periods(dashboard) == {1: (3, ["⭐ 50"]), 7: (3, ["⭐ 50"]), 30: (3, ["⭐ 50"])}
    top = {row.name: (row.units, [str(m) for m in row.revenue]) for row in dashboard.top_by_units}
    assert top == {"Editor Pro": (1, ["⭐ 50"]), free.name: (2, ["⭐ 0"])}
    assert [row.name for row in dashboard.top_by_revenue] == ["Editor Pro"]  # earned nothing: not a top earner


def test_empty_shop_shows_zeros(admin_client):
    dashboard = dashboard_get()

    assert dashboard.currencies == ["XTR"]
    assert periods(dashboard) == {1: (0, ["⭐ 0"]), 7: (0, ["⭐ 0"]), 30: (0, ["⭐ 0"])}
    assert len(dashboard.days) == 30
    response = admin_client.get(INDEX)
    assert "No purchases yet." in response.text
    assert "Nothing sold in this period." in response.text


# --- Periods and days follow the shop's time zone ------------------------------------------------------


def test_periods_are_whole_local_days(moscow, product):
    now = timezone.now()
    today = timezone.localdate(now)
    day = datetime.timedelta(days=1)
    for when in (
        local(today, 0, 5),  # today
        local(today - day, 23, 55),  # yesterday: 7 and 30 days only
        local(today - 6 * day, 0, 5),  # the first of the last 7 days
        local(today - 7 * day, 23, 55),  # 8 days ago: 30 days only
        local(today - 29 * day, 0, 5),  # the first of the last 30 days
        local(today - 30 * day, 23, 55),  # too old
    ):
        PurchaseFactory(product=product, created_at=when)

    dashboard = dashboard_get(now=now)

    assert {days: count for days, (count, _revenue) in periods(dashboard).items()} == {1: 1, 7: 3, 30: 5}
    assert dashboard.days[0].date == today - 29 * day
    assert dashboard.days[-1].date == today
    assert [d.purchases for d in dashboard.days if d.purchases] == [1, 1, 1, 1, 1]


def test_a_day_is_the_local_day_not_utc(moscow, product):
    """21:30 UTC is 00:30 in Moscow: the next day there."""
    now = datetime.datetime(2026, 3, 10, 12, 0, tzinfo=datetime.UTC)
    PurchaseFactory(product=product, created_at=datetime.datetime(2026, 3, 9, 21, 30, tzinfo=datetime.UTC))  # 10 March in Moscow
    PurchaseFactory(product=product, created_at=datetime.datetime(2026, 3, 9, 20, 30, tzinfo=datetime.UTC))  # 9 March in Moscow

    days = sales_by_day(today=timezone.localdate(now))
    dashboard = dashboard_get(now=now)

    assert {d.date: d.purchases for d in days if d.purchases} == {
        datetime.date(2026, 3, 10): 1,
        datetime.date(2026, 3, 9): 1,
    }
    assert periods(dashboard)[1][0] == 1
    assert periods(dashboard)[7][0] == 2


# --- Top products and recent purchases ----------------------------------------------------------------


def test_top_products_by_units_and_by_revenue(product, category):
    popular = ProductFactory(category=category, name="Cheap stickers", price=5)
    pricey = ProductFactory(category=category, name="Course", price=500)
    for _ in range(4):
        PurchaseFactory(product=popular, price=5)
    PurchaseFactory(product=pricey, price=500)
    PurchaseFactory(product=pricey, in_roubles=True, price=9000)
    PurchaseFactory(product=product)
    PurchaseFactory(product=product, created_at=timezone.now() - datetime.timedelta(days=31))  # outside the 30 days

    dashboard = dashboard_get()

    by_units = [(row.name, row.units, [str(m) for m in row.revenue]) for row in dashboard.top_by_units]
    assert by_units == [
        ("Cheap stickers", 4, ["⭐ 20", "0 ₽"]),
        ("Course", 2, ["⭐ 500", "9000 ₽"]),
        ("Editor Pro", 1, ["⭐ 50", "0 ₽"]),
    ]
    assert [row.name for row in dashboard.top_by_revenue] == ["Course", "Editor Pro", "Cheap stickers"]


def test_recent_purchases_are_the_last_ten_with_links(admin_client, product):
    old = PurchaseFactory(product=product, created_at=timezone.now() - datetime.timedelta(days=3))
    recent = [PurchaseFactory(product=product) for _ in range(10)]

    response = admin_client.get(INDEX)

    shown = response.context["dashboard"].recent_purchases
    assert [p.pk for p in shown] == [p.pk for p in reversed(recent)]
    for purchase in recent:
        assert f'href="{url("purchase_change", purchase.pk)}"' in response.text
    assert f'href="{url("purchase_change", old.pk)}"' not in response.text


def test_recent_purchases_show_day_first_dates_and_the_status_in_the_status_column(admin_client, russian, buyer, product):
    on = datetime.datetime(2025, 12, 2, 14, 56, tzinfo=datetime.UTC)
    PurchaseFactory(user=buyer, product=product, delivered_at=on, created_at=on)
    PurchaseFactory(user=buyer, product=product, refunded=True, created_at=on + datetime.timedelta(seconds=1))
    PurchaseFactory(
        user=buyer, product=product, in_roubles=True, review_reason="paid twice", created_at=on + datetime.timedelta(seconds=2)
    )

    english = table_rows(admin_client.get(INDEX).text, "Recent purchases")
    in_russian = table_rows(russian.get(INDEX, HTTP_ACCEPT_LANGUAGE="ru").text, "Последние покупки")

    assert english == [
        "2 Dec 2025, 14:56 @ann Editor Pro 990 ₽ Payment provider Paid needs review",
        "2 Dec 2025, 14:56 @ann Editor Pro ⭐ 50 Telegram Stars Refunded",
        "2 Dec 2025, 14:56 @ann Editor Pro ⭐ 50 Telegram Stars Paid",
    ]
    assert in_russian[2] == "2 дек 2025, 14:56 @ann Editor Pro ⭐ 50 Звёзды Telegram Оплачено"


def test_period_cards_link_to_the_matching_purchases(admin_client, product):
    PurchaseFactory(product=product)
    PurchaseFactory(product=product, created_at=timezone.now() - datetime.timedelta(days=10))

    response = admin_client.get(INDEX)

    week_link = re.findall(r'<a class="stat-card" href="([^"]+)"', response.text)[2].replace("&amp;", "&")
    assert len(admin_client.get(week_link).context["cl"].result_list) == 1


# --- Query count ------------------------------------------------------------------------------------------


def test_front_page_queries_do_not_grow_with_data(admin_client, category):
    bulk_sales(12, category)
    admin_client.get(INDEX)  # warm up: session, content types
    few = count_queries(admin_client, INDEX)

    bulk_sales(48, category)
    many = count_queries(admin_client, INDEX)

    assert Purchase.objects.count() == 60
    assert many == few
    assert few <= 10, few


def test_dashboard_itself_takes_four_queries(category, django_assert_num_queries):
    bulk_sales(20, category)
    since = start_of_day(timezone.localdate() - datetime.timedelta(days=29))
    paid = Purchase.objects.filter(status="paid", created_at__gte=since)
    expected = [
        Money(sum(p.price for p in paid if p.currency == "XTR"), "XTR"),
        Money(sum(p.price for p in paid if p.currency == "RUB"), "RUB"),
    ]

    with django_assert_num_queries(4):
        dashboard = dashboard_get()

    assert dashboard.periods[-1].revenue == expected
    assert dashboard.periods[-1].purchases == len(paid)
