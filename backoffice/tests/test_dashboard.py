"""The admin's front page: customers, sales per currency, the 30-day chart, best sellers, recent purchases."""

import datetime
import re

import pytest
from django.contrib.auth.models import Permission
from django.contrib.auth.models import User as StaffUser
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from backoffice.dashboard import dashboard_get, sales_by_day, start_of_day
from backoffice.tests.test_admin import count_queries, make_product, make_purchase, make_user, url
from shop.models import Category, Product, Purchase, User
from shop.money import Money

pytestmark = pytest.mark.django_db

INDEX = reverse("admin:index")


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def moscow(settings):
    """Three hours ahead of UTC: a local day starts at 21:00 UTC the day before."""
    settings.TIME_ZONE = "Europe/Moscow"


def at(purchase: Purchase, when: datetime.datetime) -> Purchase:
    Purchase.objects.filter(pk=purchase.pk).update(created_at=when)
    purchase.refresh_from_db()
    return purchase


def local(date: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return start_of_day(date) + datetime.timedelta(hours=hour, minutes=minute)


def sale(product: Product, *, when: datetime.datetime | None = None, user: User | None = None, **kwargs) -> Purchase:
    purchase = make_purchase(user or make_user(), product, **kwargs)
    return at(purchase, when) if when else purchase


def rub(product: Product, price: int = 990, **kwargs) -> Purchase:
    return sale(product, price=price, currency="RUB", payment_type=Purchase.PaymentType.PROVIDER, **kwargs)


def periods(dashboard) -> dict[int, tuple[int, list[str]]]:
    """{days: (purchases, revenue as shown)} for today, 7 and 30 days."""
    return {p.days: (p.purchases, [str(m) for m in p.revenue]) for p in dashboard.periods}


# --- The page --------------------------------------------------------------------------------------


def test_front_page_shows_dashboard_above_the_app_list(admin_client, product):
    sale(product)
    rub(product, price=990)

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
    assert "cdn" not in text.lower()
    assert "<script" not in text[text.index('id="shop-dashboard"') : text.index('id="content-main"')]


def test_staff_who_may_not_see_purchases_get_the_plain_front_page(db):
    staff = StaffUser.objects.create_user("catalog", password="pw", is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(content_type__app_label="shop", codename="change_product"))
    client = Client()
    client.force_login(staff)

    response = client.get(INDEX)

    assert response.status_code == 200
    assert "dashboard" not in response.context
    assert 'id="shop-dashboard"' not in response.text
    assert url("product_changelist") in response.text


def test_customers_total_and_new(admin_client, moscow):
    now = timezone.now()
    today = timezone.localdate(now)
    for days_ago in (0, 0, 3, 10, 40):
        user = make_user()
        User.objects.filter(pk=user.pk).update(created_at=local(today - datetime.timedelta(days=days_ago), 0, 1))

    dashboard = dashboard_get(now=now)

    assert dashboard.customers_total == 5
    assert [p.new_customers for p in dashboard.periods] == [2, 3, 4]


# --- Money: per currency, refunds out, free in ------------------------------------------------------


def test_currencies_are_never_added_together(admin_client, product):
    sale(product)  # ⭐ 50
    sale(product)  # ⭐ 50
    rub(product, price=990)

    dashboard = dashboard_get()

    assert dashboard.currencies == ["XTR", "RUB"]
    assert periods(dashboard)[1] == (3, ["⭐ 100", "990 ₽"])
    assert dashboard.days[-1].revenue == {"XTR": 100, "RUB": 990}
    assert "1090" not in admin_client.get(INDEX).text


def test_roubles_shop_shows_its_currency_first(settings, product):
    settings.SHOP_CURRENCY = "RUB"
    sale(product)

    assert dashboard_get().currencies == ["RUB", "XTR"]


def test_refunds_are_excluded_and_free_purchases_count_at_no_revenue(product, category):
    sale(product)
    sale(product, status=Purchase.Status.REFUNDED, refunded_at=timezone.now())
    free = make_product(category, price=0)
    sale(free, price=0, payment_type=Purchase.PaymentType.FREE)
    sale(free, price=0, payment_type=Purchase.PaymentType.MANUAL, payment_id="manual:1")

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
        sale(product, when=when)

    dashboard = dashboard_get(now=now)

    assert {days: count for days, (count, _revenue) in periods(dashboard).items()} == {1: 1, 7: 3, 30: 5}
    assert dashboard.days[0].date == today - 29 * day
    assert dashboard.days[-1].date == today
    assert [d.purchases for d in dashboard.days if d.purchases] == [1, 1, 1, 1, 1]


def test_a_day_is_the_local_day_not_utc(moscow, product):
    """21:30 UTC is 00:30 in Moscow: the next day there."""
    now = datetime.datetime(2026, 3, 10, 12, 0, tzinfo=datetime.UTC)
    sale(product, when=datetime.datetime(2026, 3, 9, 21, 30, tzinfo=datetime.UTC))  # 10 March in Moscow
    sale(product, when=datetime.datetime(2026, 3, 9, 20, 30, tzinfo=datetime.UTC))  # 9 March in Moscow

    days = sales_by_day(today=timezone.localdate(now))
    dashboard = dashboard_get(now=now)

    assert {d.date: d.purchases for d in days if d.purchases} == {
        datetime.date(2026, 3, 10): 1,
        datetime.date(2026, 3, 9): 1,
    }
    assert periods(dashboard)[1][0] == 1
    assert periods(dashboard)[7][0] == 2


# --- Chart ------------------------------------------------------------------------------------------


def svg(text: str) -> str:
    return re.search(r"<svg class=\"shop-chart\".*?</svg>", text, re.S).group(0)


def test_chart_has_a_bar_per_day_per_currency_and_a_point_per_day(admin_client, product):
    sale(product)
    rub(product)
    sale(product, when=timezone.now() - datetime.timedelta(days=12))

    chart = svg(admin_client.get(INDEX).text)

    assert chart.count('class="chart-bar series-0"') == 30  # Stars
    assert chart.count('class="chart-bar series-1"') == 30  # roubles, on their own scale
    assert chart.count('class="chart-point"') == 30
    assert chart.count("<polyline") == 1
    assert "Revenue, ⭐" in chart
    assert "Revenue, ₽" in chart
    assert "Purchases" in chart
    today = timezone.localdate()
    assert f"{today.day} {today:%b}" in chart  # date labels on the x axis


def test_chart_bars_are_to_scale_and_empty_days_are_zero(admin_client, product):
    sale(product)  # ⭐ 50 today
    sale(product, when=timezone.now() - datetime.timedelta(days=1))
    sale(product, when=timezone.now() - datetime.timedelta(days=1))  # ⭐ 100 yesterday

    chart = svg(admin_client.get(INDEX).text)

    heights = [float(h) for h in re.findall(r'class="chart-bar series-0"[^>]*height="([\d.]+)"', chart)]
    assert len(heights) == 30
    assert heights[-1] * 2 == pytest.approx(heights[-2], abs=0.2)
    assert heights[:-2] == [0.0] * 28
    assert "⭐ 100</title>" in chart
    assert "⭐ 0</title>" in chart
    assert re.search(r'<text class="chart-label"[^>]*>100</text>', chart)  # y axis reaches the top bar


# --- Top products and recent purchases ----------------------------------------------------------------


def test_top_products_by_units_and_by_revenue(product, category):
    popular = make_product(category, name="Cheap stickers", price=5)
    pricey = make_product(category, name="Course", price=500)
    for _ in range(4):
        sale(popular, price=5)
    sale(pricey, price=500)
    rub(pricey, price=9000)
    sale(product)
    sale(product, when=timezone.now() - datetime.timedelta(days=31))  # outside the 30 days

    dashboard = dashboard_get()

    by_units = [(row.name, row.units, [str(m) for m in row.revenue]) for row in dashboard.top_by_units]
    assert by_units == [
        ("Cheap stickers", 4, ["⭐ 20", "0 ₽"]),
        ("Course", 2, ["⭐ 500", "9000 ₽"]),
        ("Editor Pro", 1, ["⭐ 50", "0 ₽"]),
    ]
    assert [row.name for row in dashboard.top_by_revenue] == ["Course", "Editor Pro", "Cheap stickers"]


def test_recent_purchases_are_the_last_ten_with_links(admin_client, product):
    old = sale(product, when=timezone.now() - datetime.timedelta(days=3))
    recent = [sale(product) for _ in range(10)]

    response = admin_client.get(INDEX)

    shown = response.context["dashboard"].recent_purchases
    assert [p.pk for p in shown] == [p.pk for p in reversed(recent)]
    for purchase in recent:
        assert f'href="{url("purchase_change", purchase.pk)}"' in response.text
    assert f'href="{url("purchase_change", old.pk)}"' not in response.text


def test_period_cards_link_to_the_matching_purchases(admin_client, product):
    sale(product)
    sale(product, when=timezone.now() - datetime.timedelta(days=10))

    response = admin_client.get(INDEX)

    week_link = re.findall(r'<a class="stat-card" href="([^"]+)"', response.text)[2].replace("&amp;", "&")
    assert len(admin_client.get(week_link).context["cl"].result_list) == 1


# --- Query count ------------------------------------------------------------------------------------------


def fill(count: int, category: Category) -> None:
    products = Product.objects.bulk_create(
        [Product(category=category, name=f"Filled {i}", price=10, hidden_content="K") for i in range(count)]
    )
    start = User.objects.count() * 10 + 5000
    users = User.objects.bulk_create([User(telegram_id=start + i, username=f"fill{start + i}") for i in range(count)])
    now = timezone.now()
    purchases = Purchase.objects.bulk_create(
        [
            Purchase(
                user=u,
                product=p,
                price=10 if i % 3 else 990,
                currency="XTR" if i % 3 else "RUB",
                payment_type="stars" if i % 3 else "provider",
                payment_id=f"fill-{start + i}",
                status="refunded" if i % 7 == 0 else "paid",
                refunded_at=now if i % 7 == 0 else None,
            )
            for i, (u, p) in enumerate(zip(users, products, strict=True))
        ]
    )
    for i, purchase in enumerate(purchases):
        Purchase.objects.filter(pk=purchase.pk).update(created_at=now - datetime.timedelta(days=i % 35))


def test_front_page_queries_do_not_grow_with_data(admin_client, category):
    fill(12, category)
    admin_client.get(INDEX)  # warm up: session, content types
    few = count_queries(admin_client, INDEX)

    fill(48, category)
    many = count_queries(admin_client, INDEX)

    assert Purchase.objects.count() == 60
    assert many == few
    assert few <= 10, few


def test_dashboard_itself_takes_four_queries(category, django_assert_num_queries):
    fill(20, category)
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
