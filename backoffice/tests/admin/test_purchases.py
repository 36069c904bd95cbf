"""Purchases in the admin: read-only money history, search, filters, totals, refunds, deliveries, unmatched payments."""

import datetime
import socket

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backoffice.testing import bulk_purchases, count_queries, delivery_tasks, messages_of, result_pks, table_rows, url
from shop.models import Purchase, UnmatchedPayment
from shop.testing.factories import ProductFactory, PurchaseFactory, UserFactory

pytestmark = pytest.mark.django_db

REFUND_ACTION = "refund"
DELIVER_ACTION = "deliver_content"
CHANGELIST = url("purchase_changelist")


def run_action(client, action: str, *purchases: Purchase):
    return client.post(
        url("purchase_changelist"),
        {"action": action, "_selected_action": [p.pk for p in purchases]},
        follow=True,
    )


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# --- Pages --------------------------------------------------------------------------------------


def test_purchase_changelist_shows_customer_product_amount_and_payment(admin_client, purchase):
    response = admin_client.get(url("purchase_changelist"))

    assert response.status_code == 200
    for shown in ("@ann", "Editor Pro", "⭐ 50", "Telegram Stars", "stars-charge-abc"):
        assert shown in response.text


def purchases_with_every_status(buyer, product) -> None:
    """On 2 Dec 2025, 14:56 (UTC, the shop's time zone): one of each status staff must tell apart."""
    on = datetime.datetime(2025, 12, 2, 14, 56, tzinfo=datetime.UTC)
    PurchaseFactory(user=buyer, product=product, payment_id="delivered", delivered_at=on, created_at=on)
    PurchaseFactory(user=buyer, product=product, payment_id="waiting", created_at=on + datetime.timedelta(seconds=1))
    PurchaseFactory(
        user=buyer,
        product=product,
        payment_id="review",
        review_reason="paid twice",
        created_at=on + datetime.timedelta(seconds=2),
    )
    PurchaseFactory(user=buyer, product=product, payment_id="gone", refunded=True, created_at=on + datetime.timedelta(seconds=3))


def test_purchase_list_dates_are_day_first_and_the_status_says_what_needs_an_eye(admin_client, buyer, product):
    purchases_with_every_status(buyer, product)

    response = admin_client.get(CHANGELIST)

    assert table_rows(response.text, 'id="result_list"') == [
        "2 Dec 2025, 14:56 @ann Editor Pro ⭐ 50 Telegram Stars Refunded",
        "2 Dec 2025, 14:56 @ann Editor Pro ⭐ 50 Telegram Stars Paid needs review",
        "2 Dec 2025, 14:56 @ann Editor Pro ⭐ 50 Telegram Stars Paid not delivered",
        "2 Dec 2025, 14:56 @ann Editor Pro ⭐ 50 Telegram Stars Paid",
    ]


def test_purchase_list_in_russian(russian, buyer, product):
    purchases_with_every_status(buyer, product)

    response = russian.get(CHANGELIST, HTTP_ACCEPT_LANGUAGE="ru")

    assert table_rows(response.text, 'id="result_list"')[:3] == [
        "2 дек 2025, 14:56 @ann Editor Pro ⭐ 50 Звёзды Telegram Возвращено",
        "2 дек 2025, 14:56 @ann Editor Pro ⭐ 50 Звёзды Telegram Оплачено требует проверки",
        "2 дек 2025, 14:56 @ann Editor Pro ⭐ 50 Звёзды Telegram Оплачено не доставлено",
    ]


def test_purchase_change_page_shows_values(admin_client, purchase, buyer):
    response = admin_client.get(url("purchase_change", purchase.pk))

    assert response.status_code == 200
    for shown in ("stars-charge-abc", "Telegram Stars", "XTR", "50", "Editor Pro"):
        assert shown in response.text
    assert url("user_change", buyer.pk) in response.text


def test_purchase_date_hierarchy_drills_down_without_scanning_every_row(admin_client, purchase, buyer, product):
    older = PurchaseFactory(user=buyer, product=product, payment_id="older-charge")
    now = timezone.localtime()
    first_of_month = now.replace(day=1, hour=12)
    earlier = first_of_month - datetime.timedelta(days=40)  # another month
    Purchase.objects.filter(pk=older.pk).update(created_at=earlier)

    with CaptureQueriesContext(connection) as queries:
        page = admin_client.get(url("purchase_changelist"))
    assert not [q["sql"] for q in queries.captured_queries if "DISTINCT" in q["sql"] and "created_at" in q["sql"]]
    html = page.content.decode()
    if earlier.year == now.year:
        assert f"created_at__month={earlier.month}" in html and f"created_at__month={now.month}" in html
    else:
        assert f"created_at__year={earlier.year}" in html and f"created_at__year={now.year}" in html

    month = admin_client.get(url("purchase_changelist"), {"created_at__year": earlier.year, "created_at__month": earlier.month})
    assert result_pks(month) == {older.pk}
    assert f"created_at__day={earlier.day}" in month.content.decode()


def test_purchase_page_shows_delivery_error_and_review_reason(admin_client, buyer, product):
    purchase = PurchaseFactory(
        user=buyer,
        product=product,
        payment_id="charge-trouble",
        review_reason="paid 1 (smallest units), invoice was for 50 XTR",
        delivery_error="403 Forbidden: bot was blocked by the user",
    )

    response = admin_client.get(url("purchase_change", purchase.pk))

    assert response.status_code == 200
    assert "paid 1 (smallest units), invoice was for 50 XTR" in response.text
    assert "403 Forbidden: bot was blocked by the user" in response.text


@pytest.mark.parametrize("query", ["", "?delivered=no", "?review=no&status__exact=paid"])
def test_purchase_changelist_queries_do_not_grow_with_rows(admin_client, query):
    changelist = url("purchase_changelist") + query
    bulk_purchases(3)
    admin_client.get(changelist)  # warm up: session, content types
    few = count_queries(admin_client, changelist)

    bulk_purchases(12)
    many = count_queries(admin_client, changelist)

    assert len(admin_client.get(changelist).context["cl"].result_list) == 15
    assert many == few


def test_purchase_list_queries_do_not_grow_with_rows(admin_client, buyer, product):
    bulk_purchases(5)
    PurchaseFactory(user=buyer, product=product, in_roubles=True)
    admin_client.get(CHANGELIST)
    few = count_queries(admin_client, CHANGELIST)

    bulk_purchases(20)
    many = count_queries(admin_client, CHANGELIST)

    assert many == few


# --- Search and filters -------------------------------------------------------------------------


def test_purchase_date_filter_past_seven_days(admin_client, purchase, buyer, product):
    PurchaseFactory(user=buyer, product=product, payment_id="old-charge", created_at=timezone.now() - datetime.timedelta(days=40))
    changelist = admin_client.get(url("purchase_changelist"))
    date_filter = next(spec for spec in changelist.context["cl"].filter_specs if spec.title == "created")
    past_week = next(c for c in date_filter.choices(changelist.context["cl"]) if c["display"] == "Past 7 days")

    response = admin_client.get(url("purchase_changelist") + past_week["query_string"])

    assert result_pks(response) == {purchase.pk}


def test_purchase_search(admin_client, purchase, category):
    other = PurchaseFactory(
        user=UserFactory(telegram_id=1042, username="bob"),
        product=ProductFactory(category=category, name="Photo filters"),
        payment_id="prov-9",
    )
    changelist = url("purchase_changelist")

    assert result_pks(admin_client.get(changelist, {"q": "charge-abc"})) == {purchase.pk}
    assert result_pks(admin_client.get(changelist, {"q": "bob"})) == {other.pk}
    assert result_pks(admin_client.get(changelist, {"q": "42"})) == {purchase.pk}
    assert result_pks(admin_client.get(changelist, {"q": "1042"})) == {other.pk}
    assert result_pks(admin_client.get(changelist, {"q": "photo"})) == {other.pk}


def test_purchase_filters(admin_client, purchase, buyer, product):
    free = PurchaseFactory(user=buyer, product=product, price=0, payment_type=Purchase.PaymentType.FREE)
    roubles = PurchaseFactory(user=buyer, product=product, in_roubles=True)
    changelist = url("purchase_changelist")

    assert result_pks(admin_client.get(changelist, {"payment_type__exact": "stars"})) == {purchase.pk}
    assert result_pks(admin_client.get(changelist, {"payment_type__exact": "free"})) == {free.pk}
    assert result_pks(admin_client.get(changelist, {"currency": "RUB"})) == {roubles.pk}
    assert "990 ₽" in admin_client.get(changelist, {"currency": "RUB"}).text


def test_purchase_filters_status_delivered_and_review(admin_client, buyer, product, category):
    delivered = PurchaseFactory(user=buyer, product=product, payment_id="charge-delivered", delivered_at=timezone.now())
    waiting = PurchaseFactory(user=buyer, product=ProductFactory(category=category), payment_id="charge-waiting")
    review = PurchaseFactory(
        user=buyer, product=ProductFactory(category=category), payment_id="charge-review", review_reason="paid in RUB"
    )
    refunded = PurchaseFactory(
        user=buyer,
        product=ProductFactory(category=category),
        payment_id="charge-refunded",
        refunded=True,
    )
    changelist = url("purchase_changelist")

    def shown(**query) -> set[int]:
        return result_pks(admin_client.get(changelist, query))

    assert shown(status__exact="refunded") == {refunded.pk}
    assert shown(status__exact="paid") == {delivered.pk, waiting.pk, review.pk}
    assert shown(delivered="yes") == {delivered.pk}
    assert shown(delivered="no") == {waiting.pk, review.pk, refunded.pk}
    assert shown(review="yes") == {review.pk}
    assert shown(review="no") == {delivered.pk, waiting.pk, refunded.pk}
    assert shown(status__exact="paid", delivered="no", review="no") == {waiting.pk}


# --- Purchases are read-only money history -----------------------------------------------------


def test_purchases_cannot_be_added(admin_client, purchase):
    changelist = admin_client.get(url("purchase_changelist"))

    assert url("purchase_add") not in changelist.text
    assert admin_client.get(url("purchase_add")).status_code == 403
    assert admin_client.post(url("purchase_add"), {"payment_id": "forged", "price": 1}).status_code == 403
    assert Purchase.objects.count() == 1


def test_purchase_change_page_has_no_save_and_post_changes_nothing(admin_client, purchase, buyer, product):
    page = url("purchase_change", purchase.pk)

    response = admin_client.get(page)
    assert 'name="_save"' not in response.text
    assert 'name="_continue"' not in response.text

    posted = admin_client.post(
        page,
        {
            "user": buyer.pk,
            "product": product.pk,
            "price": 1,
            "currency": "RUB",
            "payment_type": "free",
            "payment_id": "edited",
        },
    )
    assert posted.status_code == 403
    purchase.refresh_from_db()
    assert (purchase.price, purchase.currency, purchase.payment_type, purchase.payment_id) == (
        50,
        "XTR",
        "stars",
        "stars-charge-abc",
    )


def test_purchases_cannot_be_deleted(admin_client, purchase):
    delete = url("purchase_delete", purchase.pk)

    assert admin_client.get(delete).status_code == 403
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    changelist = admin_client.get(url("purchase_changelist"))
    assert 'value="delete_selected"' not in changelist.text
    actions = changelist.context["cl"].model_admin.get_actions(changelist.wsgi_request)
    assert set(actions) == {"refund", "return_units", "deliver_content", "export_csv", "delete_test_purchases"}
    assert Purchase.objects.filter(pk=purchase.pk).exists()


def test_delete_selected_action_refused_for_purchases(admin_client, purchase):
    response = admin_client.post(
        url("purchase_changelist"), {"action": "delete_selected", "_selected_action": [purchase.pk], "post": "yes"}
    )

    assert response.status_code in (200, 302)
    assert Purchase.objects.filter(pk=purchase.pk).exists()


# --- Totals above the purchase list ------------------------------------------------------------------


def totals(response) -> dict[str, tuple[int, str, str]]:
    return {t.currency: (t.purchases, str(t.paid), str(t.refunded)) for t in response.context["totals"]}


def test_totals_per_currency_of_the_filtered_list(admin_client, buyer, bob, product):
    PurchaseFactory(user=buyer, product=product)
    PurchaseFactory(user=bob, product=product)
    PurchaseFactory(user=bob, product=product, refunded=True)
    PurchaseFactory(user=buyer, product=product, in_roubles=True)
    PurchaseFactory(user=bob, product=product, in_roubles=True, price=10)

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
    PurchaseFactory(user=buyer, product=product)

    response = admin_client.get(CHANGELIST, {"q": "nobody"})

    assert response.context["totals"] == []
    assert "purchase-totals" not in response.text


# --- Refund ---------------------------------------------------------------------------------------


def test_refund_asks_telegram_and_marks_purchase_refunded(admin_client, fake_api, buyer, product):
    purchase = PurchaseFactory(user=buyer, product=product, payment_id="charge-refund-1")

    response = run_action(admin_client, REFUND_ACTION, purchase)

    (call,) = fake_api.calls_of("refundStarPayment")
    assert (int(call.params["user_id"]), call.params["telegram_payment_charge_id"]) == (42, "charge-refund-1")
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.REFUNDED
    assert purchase.refunded_at is not None
    assert messages_of(response) == [("success", "1 payment refunded.")]
    assert Purchase.objects.filter(pk=purchase.pk).exists()


def test_refund_refused_by_telegram_changes_nothing_and_shows_why(admin_client, fake_api, buyer, product):
    purchase = PurchaseFactory(user=buyer, product=product, payment_id="charge-refund-2")
    fake_api.fail_next("refundStarPayment", 400, "Bad Request: CHARGE_NOT_FOUND")

    response = run_action(admin_client, REFUND_ACTION, purchase)

    assert len(fake_api.calls_of("refundStarPayment")) == 1
    purchase.refresh_from_db()
    assert (purchase.status, purchase.refunded_at) == (Purchase.Status.PAID, None)
    ((level, message),) = messages_of(response)
    assert level == "error"
    assert "charge-refund-2" in message
    assert "Telegram refused the refund: Bad Request: CHARGE_NOT_FOUND" in message


def test_refund_telegram_already_made_is_recorded(admin_client, fake_api, buyer, product):
    """An earlier try whose answer was lost (a timeout): asking again records the refund."""
    purchase = PurchaseFactory(user=buyer, product=product, payment_id="charge-refund-3")
    fake_api.fail_next("refundStarPayment", 400, "Bad Request: CHARGE_ALREADY_REFUNDED")

    response = run_action(admin_client, REFUND_ACTION, purchase)

    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.REFUNDED
    assert messages_of(response) == [("success", "1 payment refunded.")]


def test_refund_whose_answer_is_lost_says_it_may_have_happened(admin_client, fake_api, buyer, product):
    purchase = PurchaseFactory(user=buyer, product=product, payment_id="charge-refund-4")
    fake_api.html_error_next("refundStarPayment", 502)

    response = run_action(admin_client, REFUND_ACTION, purchase)

    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.PAID
    ((level, message),) = messages_of(response)
    assert level == "error" and "may or may not have been made" in message


@pytest.mark.parametrize(
    ("payment_type", "status", "reason"),
    [
        ("free", "paid", "Only payments in Telegram Stars can be refunded from here."),
        ("manual", "paid", "Only payments in Telegram Stars can be refunded from here."),
        ("stars", "refunded", "This purchase has already been refunded."),
    ],
)
def test_refund_refuses_what_cannot_be_refunded_without_asking_telegram(
    admin_client, fake_api, buyer, product, payment_type, status, reason
):
    refunded_at = timezone.now() - datetime.timedelta(days=1) if status == "refunded" else None
    purchase = PurchaseFactory(
        user=buyer,
        product=product,
        payment_id="not-refundable",
        payment_type=payment_type,
        status=status,
        refunded_at=refunded_at,
    )

    response = run_action(admin_client, REFUND_ACTION, purchase)

    assert fake_api.calls_of("refundStarPayment") == []
    assert messages_of(response) == [("error", f"not-refundable: {reason}")]
    assert Purchase.objects.filter(pk=purchase.pk).values_list("status", "refunded_at").get() == (status, refunded_at)


def test_refund_when_telegram_unreachable_changes_nothing(admin_client, settings, buyer, product):
    settings.TELEGRAM_API_URL = closed_port_url()
    settings.TELEGRAM_BOT_TOKEN = "123456:TEST-token"
    purchase = PurchaseFactory(user=buyer, product=product, payment_id="charge-offline")

    response = run_action(admin_client, REFUND_ACTION, purchase)

    assert response.status_code == 200
    purchase.refresh_from_db()
    assert (purchase.status, purchase.refunded_at) == (Purchase.Status.PAID, None)
    assert messages_of(response) == [
        ("error", "charge-offline: Telegram could not be reached; nothing was refunded. Try again later.")
    ]


def test_refund_whose_connection_dropped_after_sending_says_it_may_have_been_made(admin_client, fake_api, buyer, product):
    purchase = PurchaseFactory(user=buyer, product=product, payment_id="charge-dropped")
    fake_api.drop_next("refundStarPayment")  # Telegram got the request; its answer never came back

    response = run_action(admin_client, REFUND_ACTION, purchase)

    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.PAID  # not recorded until Telegram says so...
    [(level, message)] = messages_of(response)
    assert level == "error" and "may or may not have been made" in message  # ...nor called "nothing refunded"


def test_refund_of_a_mixed_selection_refunds_what_it_can(admin_client, fake_api, buyer, product, category):
    stars = PurchaseFactory(user=buyer, product=product, payment_id="charge-mixed")
    free = PurchaseFactory(product=ProductFactory(category=category, price=0), payment_id="free:1", payment_type="free", price=0)

    response = run_action(admin_client, REFUND_ACTION, stars, free)

    assert [c.params["telegram_payment_charge_id"] for c in fake_api.calls_of("refundStarPayment")] == ["charge-mixed"]
    assert dict(Purchase.objects.values_list("payment_id", "status")) == {"charge-mixed": "refunded", "free:1": "paid"}
    assert sorted(messages_of(response)) == [
        ("error", "free:1: Only payments in Telegram Stars can be refunded from here."),
        ("success", "1 payment refunded."),
    ]


# --- Deliver -------------------------------------------------------------------------------------


def test_deliver_queues_paid_approves_reviewed_and_skips_refunded(admin_client, fake_api, run_due_tasks, product, category):
    paid = PurchaseFactory(user=UserFactory(telegram_id=101), product=product, payment_id="charge-paid")
    reviewed_product = ProductFactory(category=category, hidden_content="REVIEWED-KEY")
    reviewed = PurchaseFactory(
        user=UserFactory(telegram_id=102),
        product=reviewed_product,
        payment_id="charge-review",
        review_reason="paid 1, invoice 50",
    )
    refunded = PurchaseFactory(
        user=UserFactory(telegram_id=103),
        product=product,
        payment_id="charge-gone",
        refunded=True,
    )

    response = run_action(admin_client, DELIVER_ACTION, paid, reviewed, refunded)

    assert sorted(t["args"] for t in delivery_tasks()) == sorted([[paid.pk], [reviewed.pk]])
    assert all(t["kwargs"]["again"] is False for t in delivery_tasks())
    reviewed.refresh_from_db()
    assert reviewed.review_reason == ""
    ((level, message),) = messages_of(response)
    assert level == "success"
    assert "2 purchases queued for delivery" in message
    assert "1 refunded purchase skipped." in message

    assert run_due_tasks() == 2

    sent = {int(c.params["chat_id"]): c.params["text"] for c in fake_api.calls_of("sendMessage")}
    assert set(sent) == {101, 102}
    assert "KEY-123" in sent[101]
    assert "REVIEWED-KEY" in sent[102]
    delivered = dict(Purchase.objects.values_list("payment_id", "delivered_at"))
    assert delivered["charge-paid"] is not None
    assert delivered["charge-review"] is not None
    assert delivered["charge-gone"] is None


def test_deliver_only_refunded_warns_and_queues_nothing(admin_client, buyer, product):
    refunded = PurchaseFactory(user=buyer, product=product, payment_id="charge-gone", refunded=True)

    response = run_action(admin_client, DELIVER_ACTION, refunded)

    assert delivery_tasks() == []
    ((level, message),) = messages_of(response)
    assert level == "warning"
    assert "0 purchases queued" in message
    assert "1 refunded purchase skipped." in message


def test_deliver_resends_a_delivered_purchase(admin_client, fake_api, run_due_tasks, buyer, product):
    first_delivery = timezone.now() - datetime.timedelta(days=2)
    purchase = PurchaseFactory(user=buyer, product=product, payment_id="charge-again", delivered_at=first_delivery)

    run_action(admin_client, DELIVER_ACTION, purchase)

    (task,) = delivery_tasks()
    assert (task["args"], task["kwargs"]["again"]) == ([purchase.pk], True)

    assert run_due_tasks() == 1

    (call,) = fake_api.calls_of("sendMessage")
    assert int(call.params["chat_id"]) == 42
    assert "KEY-123" in call.params["text"]
    purchase.refresh_from_db()
    assert purchase.delivered_at > first_delivery


# --- Staff who may only look ---------------------------------------------------------------------


def test_view_only_staff_see_no_actions_and_cannot_run_them(viewer_client, fake_api, buyer, product):
    purchase = PurchaseFactory(user=buyer, product=product, payment_id="charge-viewer")
    changelist = url("purchase_changelist")

    response = viewer_client.get(changelist)

    assert response.status_code == 200
    assert set(response.context["cl"].model_admin.get_actions(response.wsgi_request)) == {"export_csv"}  # a read
    assert 'value="refund"' not in response.text
    assert 'value="deliver_content"' not in response.text

    for action in (REFUND_ACTION, DELIVER_ACTION):
        viewer_client.post(changelist, {"action": action, "_selected_action": [purchase.pk]})
    assert fake_api.calls == []
    assert delivery_tasks() == []
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.PAID


# --- Unmatched payments ------------------------------------------------------------------------------


@pytest.fixture
def unmatched(db):
    return UnmatchedPayment.objects.create(
        telegram_id=777,
        payment_id="charge-lost-1",
        amount=50,
        currency="XTR",
        payload="forged-payload",
        reason="invoice payload is not genuine",
    )


def test_unmatched_payments_are_listed_read_only(admin_client, unmatched):
    response = admin_client.get(url("unmatchedpayment_changelist"))

    assert response.status_code == 200
    assert result_pks(response) == {unmatched.pk}
    assert "invoice payload is not genuine" in response.text
    assert url("unmatchedpayment_add") not in response.text
    assert 'value="delete_selected"' not in response.text
    assert admin_client.get(url("unmatchedpayment_add")).status_code == 403


def test_unmatched_payment_page_is_read_only(admin_client, unmatched):
    page = url("unmatchedpayment_change", unmatched.pk)

    response = admin_client.get(page)

    assert response.status_code == 200
    for shown in ("charge-lost-1", "777", "forged-payload", "invoice payload is not genuine"):
        assert shown in response.text
    assert 'name="_save"' not in response.text
    assert url("unmatchedpayment_delete", unmatched.pk) not in response.text
    assert admin_client.post(page, {"reason": "edited"}).status_code == 403
    assert admin_client.post(url("unmatchedpayment_delete", unmatched.pk), {"post": "yes"}).status_code == 403
    unmatched.refresh_from_db()
    assert unmatched.reason == "invoice payload is not genuine"


def test_unmatched_payment_search_by_payment_id(admin_client, unmatched):
    other = UnmatchedPayment.objects.create(
        telegram_id=778, payment_id="charge-other-2", amount=5, currency="XTR", payload="p", reason="r"
    )
    changelist = url("unmatchedpayment_changelist")

    assert result_pks(admin_client.get(changelist, {"q": "lost-1"})) == {unmatched.pk}
    assert result_pks(admin_client.get(changelist, {"q": "charge-other-2"})) == {other.pk}
