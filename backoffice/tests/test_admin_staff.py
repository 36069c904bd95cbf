"""Staff tools in the admin: CSV export and totals of purchases, what customers spent, product sales and card preview."""

import csv
import datetime
import io

import pytest
from django.contrib.auth.models import Permission
from django.contrib.auth.models import User as StaffUser
from django.db import connection
from django.http import StreamingHttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backoffice.tests.test_admin import bulk_purchases, count_queries, make_product, make_purchase, make_user, result_pks, url
from shop.models import Purchase
from shop.telegram_html import telegram_html_preview

pytestmark = pytest.mark.django_db

HEADER = [
    "date (UTC)",
    "customer Telegram id",
    "username",
    "product",
    "price",
    "currency",
    "payment type",
    "status",
    "payment id",
    "delivered (UTC)",
]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def viewer_client(db):
    """Staff who may look at purchases and customers, not act on them."""
    staff = StaffUser.objects.create_user("viewer", password="pw", is_staff=True)
    staff.user_permissions.set(
        Permission.objects.filter(content_type__app_label="shop", codename__in=["view_purchase", "view_user"])
    )
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def buyer(db):
    return make_user(telegram_id=42, username="ann")


@pytest.fixture
def bob(db):
    return make_user(telegram_id=1042, username="bob")


def refunded(purchase: Purchase) -> Purchase:
    Purchase.objects.filter(pk=purchase.pk).update(status=Purchase.Status.REFUNDED, refunded_at=timezone.now())
    return purchase


def roubles(user, product, price=990, **kwargs) -> Purchase:
    return make_purchase(user, product, price=price, currency="RUB", payment_type=Purchase.PaymentType.PROVIDER, **kwargs)


def csv_rows(response) -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="purchases-')
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


EXPORT = url("purchase_export")
CHANGELIST = url("purchase_changelist")


# --- CSV export ------------------------------------------------------------------------------------


def test_export_selected_action_writes_the_selected_purchases(admin_client, buyer, product):
    picked = make_purchase(buyer, product, payment_id="charge-1")
    Purchase.objects.filter(pk=picked.pk).update(delivered_at=timezone.now())
    make_purchase(buyer, product, payment_id="charge-2")

    response = admin_client.post(CHANGELIST, {"action": "export_csv", "_selected_action": [picked.pk]})

    header, *rows = csv_rows(response)
    assert header == HEADER
    picked.refresh_from_db()
    assert rows == [
        [
            f"{timezone.localtime(picked.created_at):%Y-%m-%d %H:%M:%S}",
            "42",
            "ann",
            "Editor Pro",
            "50",
            "XTR",
            "stars",
            "paid",
            "charge-1",
            f"{timezone.localtime(picked.delivered_at):%Y-%m-%d %H:%M:%S}",
        ]
    ]


def test_export_dates_are_in_the_shop_time_zone(admin_client, settings, buyer, product):
    settings.TIME_ZONE = "Asia/Tokyo"
    purchase = make_purchase(buyer, product)
    created = timezone.now().replace(hour=20, minute=15, second=0, microsecond=0, tzinfo=datetime.UTC)
    Purchase.objects.filter(pk=purchase.pk).update(created_at=created)

    header, row = csv_rows(admin_client.get(EXPORT))

    assert header[0] == "date (Asia/Tokyo)"
    assert row[0].endswith("05:15:00")  # UTC+9
    assert row[9] == ""  # not delivered


def test_export_all_honours_filters_search_and_order(admin_client, buyer, bob, product, category):
    filters = make_product(category, name="Photo filters", price=25)
    stars = make_purchase(buyer, product, payment_id="s-1")
    roubles(buyer, product, payment_id="r-1")
    roubles(bob, filters, price=500, payment_id="r-2")
    make_purchase(bob, filters, payment_id="s-2")

    everything = csv_rows(admin_client.get(EXPORT))[1:]
    in_roubles = csv_rows(admin_client.get(EXPORT, {"currency": "RUB"}))[1:]
    bobs_roubles = csv_rows(admin_client.get(EXPORT, {"currency": "RUB", "q": "bob"}))[1:]
    by_price = csv_rows(admin_client.get(EXPORT, {"o": "4"}))[1:]  # the "price paid" column, ascending
    refunded(stars)
    refunds = csv_rows(admin_client.get(EXPORT, {"status__exact": "refunded"}))[1:]

    assert [r[8] for r in everything] == ["s-2", "r-2", "r-1", "s-1"]  # newest first, as listed
    assert [r[8] for r in in_roubles] == ["r-2", "r-1"]
    assert [r[8] for r in bobs_roubles] == ["r-2"]
    assert [r[4] for r in by_price] == ["25", "50", "500", "990"]
    assert [(r[8], r[7]) for r in refunds] == [("s-1", "refunded")]


def test_changelist_links_to_export_with_its_filters(admin_client, buyer, product):
    make_purchase(buyer, product)

    response = admin_client.get(CHANGELIST, {"currency": "XTR", "q": "ann"})

    assert f'href="{EXPORT}?currency=XTR&amp;q=ann"' in response.text
    assert "Export all matching as CSV" in response.text


def test_export_neutralises_spreadsheet_formulas(admin_client, buyer, category):
    make_purchase(buyer, make_product(category, name="=HYPERLINK(1)"))

    (row,) = csv_rows(admin_client.get(EXPORT))[1:]

    assert row[3] == "'=HYPERLINK(1)"


def test_export_streams_in_constant_queries(admin_client):
    bulk_purchases(20)
    admin_client.get(EXPORT)
    with CaptureQueriesContext(connection) as few:
        rows = csv_rows(admin_client.get(EXPORT))

    bulk_purchases(80)
    with CaptureQueriesContext(connection) as many:
        more_rows = csv_rows(admin_client.get(EXPORT))

    assert (len(rows), len(more_rows)) == (21, 101)
    assert len(many) == len(few)


def test_view_only_staff_may_export_but_not_anonymous(viewer_client, client, buyer, product):
    make_purchase(buyer, product)

    assert len(csv_rows(viewer_client.get(EXPORT))) == 2
    assert client.get(EXPORT).status_code == 302  # to the login page


def test_export_with_a_bad_filter_goes_back_to_the_list(admin_client):
    response = admin_client.get(EXPORT, {"no_such_field": "1"})

    assert response.status_code == 302
    assert response["Location"] == CHANGELIST


# --- Totals above the purchase list ------------------------------------------------------------------


def totals(response) -> dict[str, tuple[int, str, str]]:
    return {t.currency: (t.purchases, str(t.paid), str(t.refunded)) for t in response.context["totals"]}


def test_totals_per_currency_of_the_filtered_list(admin_client, buyer, bob, product):
    make_purchase(buyer, product)
    make_purchase(bob, product)
    refunded(make_purchase(bob, product))
    roubles(buyer, product)
    roubles(bob, product, price=10)

    everything = admin_client.get(CHANGELIST)
    searched = admin_client.get(CHANGELIST, {"q": "bob"})
    filtered = admin_client.get(CHANGELIST, {"currency": "RUB"})

    assert totals(everything) == {"XTR": (3, "⭐ 100", "⭐ 50"), "RUB": (2, "1000 ₽", "0 ₽")}
    assert list(totals(everything)) == ["XTR", "RUB"]  # the shop's currency first
    assert totals(searched) == {"XTR": (2, "⭐ 50", "⭐ 50"), "RUB": (1, "10 ₽", "0 ₽")}
    assert totals(filtered) == {"RUB": (2, "1000 ₽", "0 ₽")}
    assert "⭐ 100" in everything.text
    assert "⭐ 50 refunded" in everything.text
    assert "1000 ₽" in everything.text
    assert "1100" not in everything.text


def test_no_totals_when_nothing_matches(admin_client, buyer, product):
    make_purchase(buyer, product)

    response = admin_client.get(CHANGELIST, {"q": "nobody"})

    assert response.context["totals"] == []
    assert "purchase-totals" not in response.text


def test_purchase_list_queries_do_not_grow_with_rows(admin_client, buyer, product):
    bulk_purchases(5)
    roubles(buyer, product)
    admin_client.get(CHANGELIST)
    few = count_queries(admin_client, CHANGELIST)

    bulk_purchases(20)
    many = count_queries(admin_client, CHANGELIST)

    assert many == few


# --- Customers: purchases and money spent ---------------------------------------------------------


def test_customer_list_shows_spent_per_currency(admin_client, buyer, bob, product):
    make_purchase(buyer, product)
    make_purchase(buyer, product)
    roubles(buyer, product)
    refunded(make_purchase(bob, product))
    newcomer = make_user()

    response = admin_client.get(url("user_changelist"))

    spent = {user.pk: [str(m) for m in user.spent] for user in response.context["cl"].result_list}
    assert spent == {buyer.pk: ["⭐ 100", "990 ₽"], bob.pk: [], newcomer.pk: []}
    assert '<span class="nowrap">⭐ 100</span><br><span class="nowrap">990 ₽</span>' in response.text
    assert f'<a href="{CHANGELIST}?user__id__exact={buyer.pk}">3</a>' in response.text
    assert 'class="field-is_blocked"' in response.text


def test_customer_list_queries_do_not_grow_with_customers(admin_client, product):
    for _ in range(3):
        user = make_user()
        make_purchase(user, product)
        roubles(user, product)
    admin_client.get(url("user_changelist"))
    few = count_queries(admin_client, url("user_changelist"))

    for _ in range(12):
        user = make_user()
        make_purchase(user, product)
        roubles(user, product)
    many = count_queries(admin_client, url("user_changelist"))

    assert len(result_pks(admin_client.get(url("user_changelist")))) == 15
    assert many == few


# --- Product page: sales and the card as the bot shows it -------------------------------------------


def test_product_page_shows_units_sold_and_revenue_per_currency(admin_client, buyer, bob, product):
    make_purchase(buyer, product)
    roubles(bob, product)
    refunded(make_purchase(bob, product))

    response = admin_client.get(url("product_change", product.pk))

    assert '<div class="readonly">2</div>' in response.text  # the refund is not a sale
    assert '<div class="readonly"><span class="nowrap">⭐ 50</span><br><span class="nowrap">990 ₽</span></div>' in (response.text)


def test_product_list_sold_column_excludes_refunds(admin_client, buyer, product):
    make_purchase(buyer, product)
    refunded(make_purchase(buyer, product))

    response = admin_client.get(url("product_changelist"))

    assert '<td class="field-sold">1</td>' in response.text


def preview(response) -> str:
    text = response.text
    start = text.index('<div class="tg-preview">')
    return text[start : text.index("</ul></div>", start)]


def test_product_page_previews_the_card_and_its_buttons(admin_client, product):
    product.description = (
        'A <b>great</b> &amp; <i>fast</i> editor. <a href="https://example.com/docs">Docs</a>\n'
        '<span class="tg-spoiler">Bonus</span> <tg-spoiler>inside</tg-spoiler> <code>x &lt; y</code>'
    )
    product.save()

    card = preview(admin_client.get(url("product_change", product.pk)))

    assert "<b>Editor Pro</b>" in card
    assert "A <b>great</b> &amp; <i>fast</i> editor." in card
    assert '<a href="https://example.com/docs" target="_blank" rel="noopener noreferrer">Docs</a>' in card
    assert '<span class="tg-spoiler">Bonus</span> <span class="tg-spoiler">inside</span>' in card
    assert "<code>x &lt; y</code>" in card
    assert "Price: ⭐ 50" in card
    assert "<li>Buy for ⭐ 50</li><li>« Back</li>" in card


def test_preview_of_free_and_off_sale_products(admin_client, category):
    free = make_product(category, price=0)
    off_sale = make_product(category, price=30, is_active=False)

    free_card = preview(admin_client.get(url("product_change", free.pk)))
    off_card = preview(admin_client.get(url("product_change", off_sale.pk)))

    assert "<li>🎁 Get it free</li>" in free_card
    assert "Price: Free" in free_card
    assert "This product is no longer on sale." in off_card
    assert "Buy for" not in off_card
    assert "<li>« Back</li>" in off_card


def test_preview_escapes_the_product_name(admin_client, category):
    product = make_product(category, name="<script>alert(1)</script>")

    card = preview(admin_client.get(url("product_change", product.pk)))

    assert "<script>" not in card
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in card


def test_add_page_explains_the_preview_comes_after_saving(admin_client, category):
    response = admin_client.get(url("product_add"))

    assert "Save the product to see its card." in response.text


@pytest.mark.parametrize(
    ("telegram", "web"),
    [
        ("<b>bold</b> <strong>too</strong>", "<b>bold</b> <b>too</b>"),
        ("<em>i</em><ins>u</ins><del>s</del><strike>s</strike>", "<i>i</i><u>u</u><s>s</s><s>s</s>"),
        ('<pre><code class="language-python">a &lt; b</code></pre>', "<pre><code>a &lt; b</code></pre>"),
        ("<blockquote expandable>quoted</blockquote>", "<blockquote>quoted</blockquote>"),
        ('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>', "👍"),
        ('<a href="javascript:alert(1)">click</a>', "click"),
        ('<a href="tg://user?id=1">me</a>', '<a href="tg://user?id=1" target="_blank" rel="noopener noreferrer">me</a>'),
        ('<a href="https://e.com/?a=1&amp;b=2" onclick="x()">l</a>', '<a href="https://e.com/?a=1&amp;b=2" target'),
        ("<script>alert(1)</script>", "alert(1)"),
        ('<img src=x onerror="alert(1)">', ""),
        ('<span style="color:red">red</span>', "red"),
        ("<b>unclosed <i>nested</b> after", "<b>unclosed <i>nested</i></b> after"),
        ("</i>stray", "stray"),
        ("&lt;b&gt; &quot;q&quot; &#128077;", "&lt;b&gt; &quot;q&quot; 👍"),
    ],
)
def test_telegram_html_preview_keeps_telegram_formatting_and_nothing_else(telegram, web):
    assert telegram_html_preview(telegram).startswith(web)
