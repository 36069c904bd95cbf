"""The admin where money is concerned: refunds, deliveries, grants, unmatched payments, product files."""

import socket
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.contrib.auth.models import User as StaffUser
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from backoffice.tests.test_admin import bulk_purchases, change_form_data, count_queries, make_product, make_user, result_pks, url
from shop.models import Product, Purchase, UnmatchedPayment

pytestmark = pytest.mark.django_db

REFUND_ACTION = "refund"
DELIVER_ACTION = "deliver_content"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def buyer(db):
    return make_user(telegram_id=42, username="ann", first_name="Ann")


def stars_purchase(user, product, payment_id: str, **kwargs) -> Purchase:
    fields = {"price": product.price, "currency": "XTR", "payment_type": "stars", **kwargs}
    return Purchase.objects.create(user=user, product=product, payment_id=payment_id, **fields)


def run_action(client, action: str, *purchases: Purchase):
    return client.post(
        url("purchase_changelist"),
        {"action": action, "_selected_action": [p.pk for p in purchases]},
        follow=True,
    )


def messages_of(response) -> list[tuple[str, str]]:
    return [(m.level_tag, m.message) for m in response.context["messages"]]


def delivery_tasks() -> list[dict]:
    return [task.args_kwargs for task in DBTaskResult.objects.order_by("enqueued_at")]


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def viewer_client(db):
    """A staff member who may look at purchases and customers, not act on them."""
    staff = StaffUser.objects.create_user("viewer", password="pw", is_staff=True)
    staff.user_permissions.set(
        Permission.objects.filter(content_type__app_label="shop", codename__in=["view_purchase", "view_user"])
    )
    client = Client()
    client.force_login(staff)
    return client


# --- Refund ---------------------------------------------------------------------------------------


def test_refund_asks_telegram_and_marks_purchase_refunded(admin_client, fake_api, buyer, product):
    purchase = stars_purchase(buyer, product, "charge-refund-1")

    response = run_action(admin_client, REFUND_ACTION, purchase)

    (call,) = fake_api.calls_of("refundStarPayment")
    assert (int(call.params["user_id"]), call.params["telegram_payment_charge_id"]) == (42, "charge-refund-1")
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.REFUNDED
    assert purchase.refunded_at is not None
    assert messages_of(response) == [("success", "1 payment refunded.")]
    assert Purchase.objects.filter(pk=purchase.pk).exists()


def test_refund_refused_by_telegram_changes_nothing_and_shows_why(admin_client, fake_api, buyer, product):
    purchase = stars_purchase(buyer, product, "charge-refund-2")
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
    purchase = stars_purchase(buyer, product, "charge-refund-3")
    fake_api.fail_next("refundStarPayment", 400, "Bad Request: CHARGE_ALREADY_REFUNDED")

    response = run_action(admin_client, REFUND_ACTION, purchase)

    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.REFUNDED
    assert messages_of(response) == [("success", "1 payment refunded.")]


def test_refund_whose_answer_is_lost_says_it_may_have_happened(admin_client, fake_api, buyer, product):
    purchase = stars_purchase(buyer, product, "charge-refund-4")
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
    refunded_at = timezone.now() - timedelta(days=1) if status == "refunded" else None
    purchase = stars_purchase(buyer, product, "not-refundable", payment_type=payment_type, status=status, refunded_at=refunded_at)

    response = run_action(admin_client, REFUND_ACTION, purchase)

    assert fake_api.calls_of("refundStarPayment") == []
    assert messages_of(response) == [("error", f"not-refundable: {reason}")]
    assert Purchase.objects.filter(pk=purchase.pk).values_list("status", "refunded_at").get() == (status, refunded_at)


def test_refund_when_telegram_unreachable_changes_nothing(admin_client, settings, buyer, product):
    settings.TELEGRAM_API_URL = closed_port_url()
    settings.TELEGRAM_BOT_TOKEN = "123456:TEST-token"
    purchase = stars_purchase(buyer, product, "charge-offline")

    response = run_action(admin_client, REFUND_ACTION, purchase)

    assert response.status_code == 200
    purchase.refresh_from_db()
    assert (purchase.status, purchase.refunded_at) == (Purchase.Status.PAID, None)
    assert messages_of(response) == [
        ("error", "charge-offline: Telegram could not be reached; nothing was refunded. Try again later.")
    ]


def test_refund_of_a_mixed_selection_refunds_what_it_can(admin_client, fake_api, buyer, product, category):
    stars = stars_purchase(buyer, product, "charge-mixed")
    free = stars_purchase(make_user(), make_product(category, price=0), "free:1", payment_type="free", price=0)

    response = run_action(admin_client, REFUND_ACTION, stars, free)

    assert [c.params["telegram_payment_charge_id"] for c in fake_api.calls_of("refundStarPayment")] == ["charge-mixed"]
    assert dict(Purchase.objects.values_list("payment_id", "status")) == {"charge-mixed": "refunded", "free:1": "paid"}
    assert sorted(messages_of(response)) == [
        ("error", "free:1: Only payments in Telegram Stars can be refunded from here."),
        ("success", "1 payment refunded."),
    ]


# --- Deliver -------------------------------------------------------------------------------------


def test_deliver_queues_paid_approves_reviewed_and_skips_refunded(admin_client, fake_api, run_due_tasks, product, category):
    paid = stars_purchase(make_user(telegram_id=101), product, "charge-paid")
    reviewed_product = make_product(category, hidden_content="REVIEWED-KEY")
    reviewed = stars_purchase(make_user(telegram_id=102), reviewed_product, "charge-review", review_reason="paid 1, invoice 50")
    refunded = stars_purchase(make_user(telegram_id=103), product, "charge-gone", status="refunded", refunded_at=timezone.now())

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
    refunded = stars_purchase(buyer, product, "charge-gone", status="refunded", refunded_at=timezone.now())

    response = run_action(admin_client, DELIVER_ACTION, refunded)

    assert delivery_tasks() == []
    ((level, message),) = messages_of(response)
    assert level == "warning"
    assert "0 purchases queued" in message
    assert "1 refunded purchase skipped." in message


def test_deliver_resends_a_delivered_purchase(admin_client, fake_api, run_due_tasks, buyer, product):
    first_delivery = timezone.now() - timedelta(days=2)
    purchase = stars_purchase(buyer, product, "charge-again", delivered_at=first_delivery)

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
    purchase = stars_purchase(buyer, product, "charge-viewer")
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


def test_view_only_staff_cannot_grant(viewer_client, buyer, product):
    grant = url("user_grant", buyer.pk)

    assert viewer_client.get(grant).status_code == 403
    assert viewer_client.post(grant, {"product": product.pk}).status_code == 403
    assert not Purchase.objects.exists()


# --- Grant -----------------------------------------------------------------------------------------


def test_customer_page_links_to_grant_page_with_product_select(admin_client, buyer, product):
    grant = url("user_grant", buyer.pk)

    assert grant in admin_client.get(url("user_change", buyer.pk)).text

    response = admin_client.get(grant)
    assert response.status_code == 200
    assert '<select name="product"' in response.text
    assert f'<option value="{product.pk}">Editor Pro</option>' in response.text


def test_grant_creates_manual_purchase_and_delivers_it(admin_client, fake_api, run_due_tasks, buyer, product):
    response = admin_client.post(url("user_grant", buyer.pk), {"product": product.pk})

    assert response.status_code == 302
    assert response.url == url("user_change", buyer.pk)
    granted = Purchase.objects.get()
    assert (granted.user, granted.product, granted.payment_type, granted.price, granted.status) == (
        buyer,
        product,
        Purchase.PaymentType.MANUAL,
        0,
        Purchase.Status.PAID,
    )
    assert [t["args"] for t in delivery_tasks()] == [[granted.pk]]
    assert messages_of(admin_client.get(response.url)) == [
        ("success", "Editor Pro granted to @ann; the bot delivers it within seconds.")
    ]

    assert run_due_tasks() == 1

    (call,) = fake_api.calls_of("sendMessage")
    assert int(call.params["chat_id"]) == 42
    assert "KEY-123" in call.params["text"]
    granted.refresh_from_db()
    assert granted.delivered_at is not None


def test_grant_of_owned_product_is_refused(admin_client, buyer, product):
    owned = stars_purchase(buyer, product, "charge-owned")

    response = admin_client.post(url("user_grant", buyer.pk), {"product": product.pk})

    assert response.status_code == 200
    assert response.context["form"].errors == {"product": ["@ann already has Editor Pro."]}
    assert list(Purchase.objects.all()) == [owned]
    assert delivery_tasks() == []


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


# --- Product files ------------------------------------------------------------------------------------


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def test_uploading_a_file_saves_it_and_forgets_the_stale_file_id(admin_client, media, product):
    Product.objects.filter(pk=product.pk).update(file_id="old-telegram-file")
    page = url("product_change", product.pk)
    data = change_form_data(admin_client.get(page))
    data["file"] = SimpleUploadedFile("guide.pdf", b"%PDF-new")

    response = admin_client.post(page, data)

    assert response.status_code == 302
    product.refresh_from_db()
    assert product.file.name.startswith("products/guide")
    assert (media / product.file.name).read_bytes() == b"%PDF-new"
    assert product.file_id == ""


def test_uploading_a_file_with_a_typed_file_id_keeps_the_typed_one(admin_client, media, product):
    Product.objects.filter(pk=product.pk).update(file_id="old-telegram-file")
    page = url("product_change", product.pk)
    data = change_form_data(admin_client.get(page))
    data["file"] = SimpleUploadedFile("guide.pdf", b"%PDF-new")
    data["file_id"] = "typed-telegram-file"

    response = admin_client.post(page, data)

    assert response.status_code == 302
    product.refresh_from_db()
    assert product.file.name.startswith("products/guide")
    assert product.file_id == "typed-telegram-file"


def test_product_with_only_an_uploaded_file_is_accepted(admin_client, media, category):
    data = {
        "name": "Wallpapers",
        "category": category.pk,
        "price": "5",
        "is_active": "on",
        "description": "",
        "hidden_content": "",
        "file_id": "",
        "file": SimpleUploadedFile("walls.zip", b"PK-zip"),
    }

    response = admin_client.post(url("product_add"), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    product = Product.objects.get()
    assert (product.hidden_content, product.file_id) == ("", "")
    assert (media / product.file.name).read_bytes() == b"PK-zip"


def test_clearing_the_only_file_is_refused_not_a_crash(admin_client, media, category):
    """Clearing the file also drops the file id Telegram gave it, leaving nothing to deliver."""
    product = make_product(category, hidden_content="", file_id="uploaded-1-walls.zip")
    product.file.save("walls.zip", SimpleUploadedFile("walls.zip", b"PK-zip"))
    page = url("product_change", product.pk)
    data = change_form_data(admin_client.get(page))
    data["file-clear"] = "on"

    response = admin_client.post(page, data)

    assert response.status_code == 200
    assert "A product must deliver something" in response.text
    product.refresh_from_db()
    assert (product.file.name, product.file_id) == ("products/walls.zip", "uploaded-1-walls.zip")


def test_uploading_a_file_on_the_category_page_forgets_the_stale_file_id(admin_client, media, product, category):
    """The category page edits products inline; a new file there must not be shadowed by the old file id."""
    Product.objects.filter(pk=product.pk).update(file_id="old-telegram-file")
    page = url("category_change", category.pk)
    data = change_form_data(admin_client.get(page))
    data["products-0-file"] = SimpleUploadedFile("guide.pdf", b"%PDF-new")

    response = admin_client.post(page, data)

    assert response.status_code == 302
    product.refresh_from_db()
    assert product.file.name.startswith("products/guide")
    assert product.file_id == ""


# --- Purchase changelist and page ------------------------------------------------------------------------


def test_purchase_filters_status_delivered_and_review(admin_client, buyer, product, category):
    delivered = stars_purchase(buyer, product, "charge-delivered", delivered_at=timezone.now())
    waiting = stars_purchase(buyer, make_product(category), "charge-waiting")
    review = stars_purchase(buyer, make_product(category), "charge-review", review_reason="paid in RUB")
    refunded = stars_purchase(buyer, make_product(category), "charge-refunded", status="refunded", refunded_at=timezone.now())
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


def test_purchase_page_shows_delivery_error_and_review_reason(admin_client, buyer, product):
    purchase = stars_purchase(
        buyer,
        product,
        "charge-trouble",
        review_reason="paid 1 (smallest units), invoice was for 50 XTR",
        delivery_error="403 Forbidden: bot was blocked by the user",
    )

    response = admin_client.get(url("purchase_change", purchase.pk))

    assert response.status_code == 200
    assert "paid 1 (smallest units), invoice was for 50 XTR" in response.text
    assert "403 Forbidden: bot was blocked by the user" in response.text
