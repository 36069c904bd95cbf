"""Test purchases (staff trying the bot) are no money: marked, left out of revenue, the dashboard, exports,
totals and broadcasts, and deletable by staff, unlike real purchases."""

import csv
import io

import pytest
from django.utils import timezone

from backoffice.dashboard import dashboard_get
from backoffice.testing import staff_client
from botapp.simulator import TrialChat
from shop.models import Broadcast, Purchase
from shop.money import Money
from shop.selectors.broadcasts import broadcast_audience
from shop.selectors.purchases import product_revenue_by_currency, purchase_list_undelivered, user_spent_by_currency
from shop.testing.factories import PurchaseFactory, UserFactory
from shop.trial import trial_customer_id

pytestmark = pytest.mark.django_db


@pytest.fixture
def test_purchase(admin_user, product):
    """Staff bought the product in Try the bot."""
    chat = TrialChat(staff_id=admin_user.pk, name="admin")
    chat.send_text(f"/start p{product.pk}")
    card = chat.messages()[-1]
    chat.press(message_id=card["id"], data=next(b["data"] for row in card["buttons"] for b in row if "Buy" in b["text"]))
    chat.pay(message_id=chat.messages()[-1]["id"])
    return Purchase.objects.get(payment_type=Purchase.PaymentType.TEST)


def test_the_dashboard_counts_only_real_sales_and_customers(test_purchase, purchase):
    dashboard = dashboard_get(now=timezone.now())
    assert dashboard.customers_total == 1
    today = dashboard.periods[0]
    assert today.purchases == 1
    assert today.revenue == [Money(50, "XTR")]
    assert [p.units for p in dashboard.top_by_units] == [1]
    assert dashboard.recent_purchases == [purchase]


def test_revenue_and_spending_leave_test_purchases_out(test_purchase, purchase):
    assert product_revenue_by_currency(product_id=test_purchase.product_id) == [Money(50, "XTR")]
    assert user_spent_by_currency(user_ids=[test_purchase.user_id]) == {}


def test_the_csv_export_and_the_totals_leave_them_out(admin_client, test_purchase, purchase):
    response = admin_client.get("/admin/shop/purchase/export/")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 2 and purchase.payment_id in rows[1]  # the header, then the real purchase only
    page = admin_client.get("/admin/shop/purchase/")
    assert [str(total.paid) for total in page.context_data["totals"]] == [str(Money(50, "XTR"))]


def test_the_purchase_list_marks_them(admin_client, test_purchase):
    page = admin_client.get("/admin/shop/purchase/")
    assert "Test: not paid" in page.text and "Test (not paid)" in page.text


def test_staff_delete_test_purchases_but_never_real_ones(test_purchase, purchase):
    client = staff_client("clerk", "view_purchase", "change_purchase")
    response = client.post(
        "/admin/shop/purchase/",
        {"action": "delete_test_purchases", "_selected_action": [test_purchase.pk, purchase.pk]},
        follow=True,
    )
    assert "1 test purchase deleted." in response.text
    assert list(Purchase.objects.all()) == [purchase]
    assert client.get(f"/admin/shop/purchase/{purchase.pk}/delete/").status_code == 403
    viewer = staff_client("viewer", "view_purchase")  # who may only look deletes nothing
    viewer.post("/admin/shop/purchase/", {"action": "delete_test_purchases", "_selected_action": [purchase.pk]})
    assert Purchase.objects.count() == 1


def test_one_test_purchase_is_deleted_from_its_page(admin_client, test_purchase):
    response = admin_client.post(f"/admin/shop/purchase/{test_purchase.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Purchase.objects.exists()


def test_broadcasts_never_reach_test_customers(test_purchase, product):
    real = UserFactory(telegram_id=77)
    PurchaseFactory(user=real, product=product, payment_id="real-1")
    for audience in (Broadcast.Audience.ALL, Broadcast.Audience.PRODUCT_BUYERS):
        broadcast = Broadcast(text="hi", audience=audience, product=product)
        assert list(broadcast_audience(broadcast=broadcast)) == [real]


def test_background_delivery_never_picks_a_test_purchase(test_purchase):
    Purchase.objects.filter(pk=test_purchase.pk).update(delivered_at=None)
    assert not purchase_list_undelivered().exists()


def test_the_test_customer_is_the_staff_members(admin_user, test_purchase):
    assert test_purchase.user.telegram_id == trial_customer_id(staff_id=admin_user.pk)


def test_the_customer_list_leaves_test_customers_out_unless_asked(admin_client, test_purchase, buyer):
    listed = admin_client.get("/admin/shop/user/")
    assert [user.pk for user in listed.context_data["cl"].result_list] == [buyer.pk]
    tests = admin_client.get("/admin/shop/user/?test=only")
    assert [user.pk for user in tests.context_data["cl"].result_list] == [test_purchase.user_id]
    assert admin_client.get(f"/admin/shop/user/{test_purchase.user_id}/change/").status_code == 200


def test_the_product_list_counts_real_sales_only(admin_client, test_purchase, purchase):
    listed = admin_client.get("/admin/shop/product/")
    (product,) = listed.context_data["cl"].result_list
    assert product.sold_count == 1
