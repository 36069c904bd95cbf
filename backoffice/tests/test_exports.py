"""CSV export of purchases: the selected ones, or all the list shows; spreadsheet-safe, streamed."""

import csv
import datetime
import io

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backoffice.testing import bulk_purchases, url
from shop.models import Purchase
from shop.testing.factories import ProductFactory, PurchaseFactory

pytestmark = pytest.mark.django_db

HEADER = [
    "date (UTC)",
    "customer Telegram id",
    "username",
    "product",
    "quantity",
    "price",
    "currency",
    "payment type",
    "status",
    "payment id",
    "delivered (UTC)",
    "promo code",
    "discount",
]


PRICE, STATUS, PAYMENT_ID, DELIVERED = (HEADER.index(n) for n in ("price", "status", "payment id", "delivered (UTC)"))


def csv_rows(response) -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="purchases-')
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


EXPORT = url("purchase_export")
CHANGELIST = url("purchase_changelist")


def test_export_selected_action_writes_the_selected_purchases(admin_client, buyer, product):
    picked = PurchaseFactory(user=buyer, product=product, payment_id="charge-1")
    Purchase.objects.filter(pk=picked.pk).update(delivered_at=timezone.now())
    PurchaseFactory(user=buyer, product=product, payment_id="charge-2")

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
            "1",
            "50",
            "XTR",
            "stars",
            "paid",
            "charge-1",
            f"{timezone.localtime(picked.delivered_at):%Y-%m-%d %H:%M:%S}",
            "",
            "",
        ]
    ]


def test_export_dates_are_in_the_shop_time_zone(admin_client, settings, buyer, product):
    settings.TIME_ZONE = "Asia/Tokyo"
    purchase = PurchaseFactory(user=buyer, product=product)
    created = timezone.now().replace(hour=20, minute=15, second=0, microsecond=0, tzinfo=datetime.UTC)
    Purchase.objects.filter(pk=purchase.pk).update(created_at=created)

    header, row = csv_rows(admin_client.get(EXPORT))

    assert header[0] == "date (Asia/Tokyo)"
    assert row[0].endswith("05:15:00")  # UTC+9
    assert row[DELIVERED] == ""  # not delivered


def test_export_all_honours_filters_search_and_order(admin_client, buyer, bob, product, category):
    filters = ProductFactory(category=category, name="Photo filters", price=25)
    stars = PurchaseFactory(user=buyer, product=product, payment_id="s-1")
    PurchaseFactory(user=buyer, product=product, in_roubles=True, payment_id="r-1")
    PurchaseFactory(user=bob, product=filters, in_roubles=True, price=500, payment_id="r-2")
    PurchaseFactory(user=bob, product=filters, payment_id="s-2")

    everything = csv_rows(admin_client.get(EXPORT))[1:]
    in_roubles = csv_rows(admin_client.get(EXPORT, {"currency": "RUB"}))[1:]
    bobs_roubles = csv_rows(admin_client.get(EXPORT, {"currency": "RUB", "q": "bob"}))[1:]
    by_price = csv_rows(admin_client.get(EXPORT, {"o": "4"}))[1:]  # the "price paid" column, ascending
    Purchase.objects.filter(pk=stars.pk).update(status=Purchase.Status.REFUNDED, refunded_at=timezone.now())
    refunds = csv_rows(admin_client.get(EXPORT, {"status__exact": "refunded"}))[1:]

    assert [r[PAYMENT_ID] for r in everything] == ["s-2", "r-2", "r-1", "s-1"]  # newest first, as listed
    assert [r[PAYMENT_ID] for r in in_roubles] == ["r-2", "r-1"]
    assert [r[PAYMENT_ID] for r in bobs_roubles] == ["r-2"]
    assert [r[PRICE] for r in by_price] == ["25", "50", "500", "990"]
    assert [(r[PAYMENT_ID], r[STATUS]) for r in refunds] == [("s-1", "refunded")]


def test_changelist_links_to_export_with_its_filters(admin_client, buyer, product):
    PurchaseFactory(user=buyer, product=product)

    response = admin_client.get(CHANGELIST, {"currency": "XTR", "q": "ann"})

    assert f'href="{EXPORT}?currency=XTR&amp;q=ann"' in response.text
    assert "Export all matching as CSV" in response.text


def test_export_neutralises_spreadsheet_formulas(admin_client, buyer, category):
    PurchaseFactory(user=buyer, product=ProductFactory(category=category, name="=HYPERLINK(1)"))

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
    PurchaseFactory(user=buyer, product=product)

    assert len(csv_rows(viewer_client.get(EXPORT))) == 2
    assert client.get(EXPORT).status_code == 302  # to the login page


def test_export_with_a_bad_filter_goes_back_to_the_list(admin_client):
    response = admin_client.get(EXPORT, {"no_such_field": "1"})

    assert response.status_code == 302
    assert response["Location"] == CHANGELIST
