"""Buying through the bot: buttons, invoices, pre-checkout, payments, delivery, refunds and staff.

Every update goes through botapp.dispatch.process_update to a real TeleBot that talks HTTP to
the fake Bot API; the tests look at the calls the fake recorded and at the database.
"""

import re

import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from django_tasks_db.models import DBTaskResult

from botapp import callbacks, texts
from botapp.reviews import review_invitation_task
from botapp.testing import updates
from botapp.testing.helpers import SENDS, body, buttons, callback_answers, english, leaks, product_with_secret, sent_to
from shop.models import Product, Purchase, UnmatchedPayment, User
from shop.testing.factories import ProductFactory, PurchaseFactory, UserFactory

pytestmark = pytest.mark.django_db

SECRET = "KEY-123"  # the hidden content of the `product` fixture
STAFF = [777, 888]
NO_LONGER_AVAILABLE = "Sorry, this is no longer available."
NOT_UNDERSTOOD = "Sorry, I did not understand that."
BLOCKED_BY_USER = "Forbidden: bot was blocked by the user"


@pytest.fixture(autouse=True)
def shop_settings(settings):
    settings.SHOP_CURRENCY = "XTR"
    settings.PAYMENT_PROVIDER_TOKEN = ""
    settings.DELIVERY_PROTECT_CONTENT = True
    # No staff by default: their notices are sendMessage calls too and would take failures meant for the buyer.
    settings.ADMIN_IDS = []


@pytest.fixture
def staff(settings):
    settings.ADMIN_IDS = STAFF
    return STAFF


@pytest.fixture
def bob():
    return updates.tg_user(43, first_name="Bob", username="bob", language_code="en")


# --- helpers ---


def assert_the_delivery_task_delivers(fake_api, run_due_tasks, purchase):
    """The one delivery task due runs to the end and delivers the content to the buyer, once (the worker records
    a task's exception, not raises it)."""
    mark = fake_api.mark()
    assert run_due_tasks() == 1
    finished = DBTaskResult.objects.exclude(status="READY")
    assert [(t.status, t.return_value) for t in finished] == [("SUCCESSFUL", "delivered")] * finished.count(), [
        t.traceback for t in finished
    ]
    assert len(sent_to(fake_api, 42, after=mark, containing=SECRET)) == 1
    purchase.refresh_from_db()
    assert purchase.delivered_at is not None


@pytest.fixture
def card(press):
    """Open a product's card; returns its buttons."""

    def _card(product, *, user=None):
        screens = [c for c in press(callbacks.product(product.pk), user=user) if c.method == "editMessageText"]
        assert len(screens) == 1
        return buttons(screens[0])

    return _card


@pytest.fixture
def buy(press):
    """Press Buy; returns the sendInvoice call."""

    def _buy(product, *, user=None):
        calls = press(callbacks.buy(product.pk), user=user)
        invoices = [c for c in calls if c.method == "sendInvoice"]
        assert len(invoices) == 1, [c.method for c in calls]
        return invoices[0]

    return _buy


@pytest.fixture
def pre_checkout(send, fake_api, customer):
    """Telegram's pre_checkout_query; returns the bot's answerPreCheckoutQuery call."""

    def _pre_checkout(payload: str, *, total_amount: int = 50, currency: str = "XTR", user=None):
        mark = fake_api.mark()
        update = updates.pre_checkout(user or customer, payload, total_amount=total_amount, currency=currency)
        send(update)
        answers = [c for c in fake_api.calls[mark:] if c.method == "answerPreCheckoutQuery"]
        assert len(answers) == 1
        assert answers[0].params["pre_checkout_query_id"] == update["pre_checkout_query"]["id"]
        return answers[0]

    return _pre_checkout


@pytest.fixture
def purchase_through_the_bot(buy, pre_checkout, pay):
    """Buy, pass pre-checkout and pay, as a customer does; returns the Purchase."""

    def _purchase(product, *, user=None):
        invoice = buy(product, user=user)
        assert pre_checkout(invoice.params["payload"], user=user, total_amount=product.price).params["ok"] == "True"
        update = pay(invoice, user=user)
        return Purchase.objects.get(payment_id=update["message"]["successful_payment"]["telegram_payment_charge_id"])

    return _purchase


@pytest.fixture
def bought(purchase_through_the_bot, product):
    return purchase_through_the_bot(product)


# --- the card's buttons ---


def test_card_offers_buy_for_the_price_when_not_owned(card, product):
    assert card(product) == [("Buy for ⭐ 50", f"buy:{product.pk}"), ("« Back", callbacks.catalog())]


def test_card_of_a_free_product_offers_get_it_free(card, category):
    free = product_with_secret("Guide", category=category, price=0)

    assert card(free) == [("🎁 Get it free", f"buy:{free.pk}"), ("« Back", callbacks.catalog())]


def test_card_of_an_owned_product_offers_open(card, bought, product):
    assert card(product) == [
        ("📂 Open", f"open:{product.pk}"),
        ("⭐ Rate this product", callbacks.rate(product.pk)),
        ("« Back", callbacks.catalog()),
    ]


def test_card_of_an_owned_product_taken_off_sale_offers_open_and_no_buy(card, product):
    PurchaseFactory(user=UserFactory(telegram_id=42), product=product, delivered_at=timezone.now())
    Product.objects.filter(pk=product.pk).update(is_active=False)

    assert card(product) == [
        ("📂 Open", f"open:{product.pk}"),
        ("⭐ Rate this product", callbacks.rate(product.pk)),
        ("« Back", callbacks.catalog()),
    ]


# --- the invoice ---


def test_buy_sends_a_stars_invoice(press, fake_api, product):
    calls = press(callbacks.buy(product.pk))

    [invoice] = [c for c in calls if c.method == "sendInvoice"]
    assert invoice.params["chat_id"] == "42"
    assert invoice.params["currency"] == "XTR"
    assert invoice.params["provider_token"] == ""
    assert invoice.json("prices") == [{"label": "Editor Pro", "amount": 50}]
    assert invoice.params["title"] == "Editor Pro"
    assert invoice.params["description"] == "A great editor."
    assert 1 <= len(invoice.params["payload"].encode()) <= 128
    assert len(callback_answers(calls)) == 1
    assert Purchase.objects.count() == 0


def test_invoice_fits_telegrams_limits_for_a_long_name_and_description(buy, category):
    long_name = "Ultimate Editor Professional Edition " * 3  # 111 characters
    description = "<b>Bold</b> &amp; <i>plain</i> " + "words " * 300
    item = product_with_secret(long_name, category=category, price=50, description=description)
    big_id_user = updates.tg_user(9_999_999_999_999, first_name="Big")

    invoice = buy(item, user=big_id_user)

    title, text = invoice.params["title"], invoice.params["description"]
    assert 1 <= len(title) <= 32
    assert title.startswith("Ultimate Editor")
    assert 1 <= len(text) <= 255
    assert text.startswith("Bold & plain words")
    assert "<" not in text and "&amp;" not in text
    [price] = invoice.json("prices")
    assert price["amount"] == 50 and 1 <= len(price["label"]) <= 32
    assert 1 <= len(invoice.params["payload"].encode()) <= 128


def test_buy_in_roubles_uses_the_payment_provider_and_counts_in_kopecks(settings, buy, pre_checkout, pay, fake_api, category):
    settings.SHOP_CURRENCY = "RUB"
    settings.PAYMENT_PROVIDER_TOKEN = "prov-token"
    course = product_with_secret("Course", category=category, price=990)

    invoice = buy(course)

    assert invoice.params["currency"] == "RUB"
    assert invoice.params["provider_token"] == "prov-token"
    assert invoice.json("prices") == [{"label": "Course", "amount": 99000}]
    answer = pre_checkout(invoice.params["payload"], total_amount=99000, currency="RUB")
    assert answer.params["ok"] == "True"
    pay(invoice)
    purchase = Purchase.objects.get()
    assert (purchase.price, purchase.currency, purchase.payment_type) == (990, "RUB", Purchase.PaymentType.PROVIDER)
    assert purchase.review_reason == ""
    assert len(sent_to(fake_api, 42, containing="SECRET-of-Course")) == 1


def test_buy_of_a_product_taken_off_sale_meanwhile_sends_no_invoice(press, product):
    Product.objects.filter(pk=product.pk).update(is_active=False)

    calls = press(callbacks.buy(product.pk))

    assert [c for c in calls if c.method == "sendInvoice"] == []
    assert callback_answers(calls) == [NO_LONGER_AVAILABLE]
    assert not [c for c in calls if SECRET in repr(c.params)]


def test_buy_of_an_owned_product_sends_the_content_again_instead_of_an_invoice(press, fake_api, product):
    PurchaseFactory(user=UserFactory(telegram_id=42), product=product, delivered_at=timezone.now())

    calls = press(callbacks.buy(product.pk))

    assert [c for c in calls if c.method == "sendInvoice"] == []
    assert len(sent_to(fake_api, 42, containing=SECRET)) == 1
    assert callback_answers(calls) == ["You already own this product."]
    assert Purchase.objects.count() == 1


# --- pre-checkout ---


def test_genuine_pre_checkout_is_accepted_and_nothing_is_delivered_yet(buy, pre_checkout, fake_api, product):
    invoice = buy(product)

    answer = pre_checkout(invoice.params["payload"])

    assert answer.params["ok"] == "True"
    assert "error_message" not in answer.params
    assert Purchase.objects.count() == 0
    assert leaks(fake_api, SECRET) == []


def _forge(payload: str) -> str:
    telegram_id, product_id, _price, *rest = payload.split(":")
    return ":".join([telegram_id, product_id, "1", *rest])


@pytest.mark.parametrize(
    "case, reason",
    [
        ("forged payload", "invalid"),
        ("another customer's payload", "not_yours"),
        ("taken off sale", "unavailable"),
        ("price changed", "price_changed"),
        ("amount differs from the invoice", "price_changed"),
        ("already owned", "already_owned"),
    ],
)
def test_pre_checkout_refusals(case, reason, buy, pre_checkout, fake_api, bob, product):
    payload = buy(product).params["payload"]
    total_amount = 50
    if case == "forged payload":
        payload, total_amount = _forge(payload), 1
    elif case == "another customer's payload":
        payload = buy(product, user=bob).params["payload"]
    elif case == "taken off sale":
        Product.objects.filter(pk=product.pk).update(is_active=False)
    elif case == "price changed":
        Product.objects.filter(pk=product.pk).update(price=60)
    elif case == "amount differs from the invoice":
        total_amount = 49
    else:
        PurchaseFactory(user=UserFactory(telegram_id=42), product=product, delivered_at=timezone.now())
    purchases_before = Purchase.objects.count()
    mark = fake_api.mark()

    answer = pre_checkout(payload, total_amount=total_amount)

    assert answer.params["ok"] == "False"
    assert answer.params["error_message"] == english(texts.checkout_refusal, reason)
    assert Purchase.objects.count() == purchases_before
    assert leaks(fake_api, SECRET, after=mark) == []


def test_russian_customer_is_refused_in_russian(buy, pre_checkout, product):
    ivan = updates.tg_user(42, first_name="Иван", username="ivan", language_code="ru")
    payload = buy(product, user=ivan).params["payload"]
    Product.objects.filter(pk=product.pk).update(is_active=False)

    answer = pre_checkout(payload, user=ivan)

    message = answer.params["error_message"]
    assert answer.params["ok"] == "False"
    assert message != english(texts.checkout_refusal, "unavailable"), "the refusal has no Russian translation"
    assert re.search("[а-яА-ЯёЁ]", message)


# --- successful payment ---


def test_successful_payment_records_exactly_one_purchase(buy, pre_checkout, pay, product):
    invoice = buy(product)
    pre_checkout(invoice.params["payload"])

    update = pay(invoice, charge_id="stars-charge-abc")

    purchase = Purchase.objects.get()
    assert purchase.payment_id == "stars-charge-abc" == update["message"]["successful_payment"]["telegram_payment_charge_id"]
    assert (purchase.user.telegram_id, purchase.product_id) == (42, product.pk)
    assert (purchase.price, purchase.currency, purchase.payment_type) == (50, "XTR", Purchase.PaymentType.STARS)
    assert purchase.status == Purchase.Status.PAID
    assert purchase.review_reason == ""


def test_successful_payment_delivers_the_hidden_content_protected(buy, pay, fake_api, product):
    invoice = buy(product)
    mark = fake_api.mark()

    pay(invoice)

    [delivery] = sent_to(fake_api, 42, after=mark, containing=SECRET)
    assert delivery.method == "sendMessage"
    assert english(texts.delivery_heading, "Editor Pro") in delivery.params["text"]
    assert delivery.params["protect_content"] == "True"
    assert Purchase.objects.get().delivered_at is not None


def test_a_payment_for_a_product_not_sold_from_stock_reads_no_stock_units(buy, pay, fake_api, product):
    """The payment just recorded took no units: its delivery does not look for any (one query less)."""
    invoice = buy(product)
    with CaptureQueriesContext(connection) as queries:
        pay(invoice)
    assert sent_to(fake_api, 42, containing=SECRET)
    assert not [q["sql"] for q in queries if "stock_stockunit" in q["sql"]]


def test_content_is_not_protected_when_the_setting_is_off(settings, buy, pay, fake_api, product):
    settings.DELIVERY_PROTECT_CONTENT = False
    invoice = buy(product)

    pay(invoice)

    [delivery] = sent_to(fake_api, 42, containing=SECRET)
    assert delivery.params.get("protect_content") != "True"


def test_staff_are_told_of_each_sale_with_buyer_product_and_amount(staff, buy, pay, fake_api, product):
    invoice = buy(product)

    pay(invoice)

    for admin_id in STAFF:
        [notice] = sent_to(fake_api, admin_id)
        text = notice.params["text"]
        assert "@ann" in text and "42" in text
        assert "Editor Pro" in text
        assert "⭐ 50" in text
        assert SECRET not in text


def test_the_same_payment_sent_again_is_recorded_and_delivered_once(staff, buy, pay, send, fake_api, product):
    invoice = buy(product)
    update = pay(invoice)
    mark = fake_api.mark()

    send(update)

    assert Purchase.objects.count() == 1
    assert len(sent_to(fake_api, 42, containing=SECRET)) == 1
    assert sent_to(fake_api, 42, after=mark) == []
    for admin_id in STAFF:
        assert len(sent_to(fake_api, admin_id)) == 1


def test_payment_of_a_different_amount_is_kept_for_review_and_not_delivered(staff, buy, pay, send, fake_api, product):
    invoice = buy(product)
    mark = fake_api.mark()

    update = pay(invoice, total_amount=1)

    purchase = Purchase.objects.get()
    assert purchase.review_reason
    assert purchase.price == 1
    assert purchase.delivered_at is None
    [told] = sent_to(fake_api, 42, after=mark)
    assert told.params["text"] == english(texts.payment_under_review)
    assert leaks(fake_api, SECRET) == []
    for admin_id in STAFF:
        [alert] = sent_to(fake_api, admin_id)
        assert "review" in alert.params["text"].lower()
        assert "Editor Pro" in alert.params["text"]

    mark = fake_api.mark()
    send(update)
    assert Purchase.objects.count() == 1
    assert [c for c in fake_api.calls[mark:] if c.method in SENDS] == []


def test_payment_with_a_forged_payload_is_kept_as_unmatched_and_staff_alerted(staff, buy, pay, send, fake_api, product):
    invoice = buy(product)
    mark = fake_api.mark()

    update = pay(invoice, payload=_forge(invoice.params["payload"]), total_amount=1, charge_id="forged-charge")

    unmatched = UnmatchedPayment.objects.get()
    assert (unmatched.telegram_id, unmatched.amount, unmatched.payment_id) == (42, 1, "forged-charge")
    assert Purchase.objects.count() == 0
    [told] = sent_to(fake_api, 42, after=mark)
    assert told.params["text"] == english(texts.payment_under_review)
    for admin_id in STAFF:
        [alert] = sent_to(fake_api, admin_id)
        assert "matches no product" in alert.params["text"]
        assert "forged-charge" in alert.params["text"]
    assert leaks(fake_api, SECRET) == []

    mark = fake_api.mark()
    send(update)
    assert UnmatchedPayment.objects.count() == 1
    assert [c for c in fake_api.calls[mark:] if c.method in SENDS] == []


def test_payment_arriving_after_the_product_went_off_sale_is_still_delivered(buy, pre_checkout, pay, fake_api, product):
    invoice = buy(product)
    assert pre_checkout(invoice.params["payload"]).params["ok"] == "True"
    Product.objects.filter(pk=product.pk).update(is_active=False)

    pay(invoice)

    assert Purchase.objects.get().delivered_at is not None
    assert len(sent_to(fake_api, 42, containing=SECRET)) == 1


# --- files ---


def test_product_with_a_file_id_is_sent_as_a_document_captioned_with_the_content(purchase_through_the_bot, fake_api, category):
    item = ProductFactory(
        category=category, name="Manual", price=50, hidden_content="Read page 3: PAGE-3-KEY", file_id="BQAC-manual"
    )

    purchase_through_the_bot(item)

    [document] = sent_to(fake_api, 42, method="sendDocument")
    assert document.params["document"] == "BQAC-manual"
    assert "PAGE-3-KEY" in document.params["caption"]
    assert english(texts.delivery_heading, "Manual") in document.params["caption"]
    assert document.params["protect_content"] == "True"
    assert sent_to(fake_api, 42, containing="PAGE-3-KEY") == [document]
    assert fake_api.uploads == []


def test_content_too_long_for_a_caption_goes_in_its_own_message(purchase_through_the_bot, fake_api, category):
    long_content = "<b>Steps</b>\n" + "step " * 240 + "LONG-KEY"  # about 1220 visible characters
    item = ProductFactory(category=category, name="Course files", price=50, hidden_content=long_content, file_id="BQAC-course")

    purchase_through_the_bot(item)

    [message] = sent_to(fake_api, 42, method="sendMessage")
    [document] = sent_to(fake_api, 42, method="sendDocument")
    assert "LONG-KEY" in message.params["text"]
    assert document.params["document"] == "BQAC-course"
    assert document.params["caption"] == english(texts.delivery_heading, "Course files")
    assert len(document.params["caption"]) <= 1024


def test_uploaded_file_is_sent_once_then_reused_by_its_file_id(
    settings, tmp_path, purchase_through_the_bot, fake_api, bob, category
):
    settings.MEDIA_ROOT = tmp_path
    item = ProductFactory(
        category=category,
        name="Handbook",
        price=50,
        hidden_content="",
        file=ContentFile(b"%PDF-1.4 handbook", name="handbook.pdf"),
    )

    first = purchase_through_the_bot(item)

    assert [upload.content for upload in fake_api.uploads] == [b"%PDF-1.4 handbook"]
    [document] = sent_to(fake_api, 42, method="sendDocument")
    assert document.params["document"] == fake_api.uploads[0]
    item.refresh_from_db()
    assert item.file_id == f"uploaded-1-{fake_api.uploads[0].filename}"
    first.refresh_from_db()
    assert first.delivered_at is not None

    purchase_through_the_bot(item, user=bob)

    [again] = sent_to(fake_api, 43, method="sendDocument")
    assert again.params["document"] == item.file_id
    assert len(fake_api.uploads) == 1


# --- delivery failures ---


def test_buyer_who_blocked_the_bot_keeps_the_purchase_and_gets_it_after_unblocking(
    buy, pay, send, fake_api, run_due_tasks, customer, product
):
    invoice = buy(product)
    fake_api.fail_next("sendMessage", 403, BLOCKED_BY_USER)

    pay(invoice)

    purchase = Purchase.objects.get()
    assert purchase.status == Purchase.Status.PAID
    assert purchase.delivered_at is None
    assert User.objects.get(telegram_id=42).is_blocked is True
    assert DBTaskResult.objects.count() == 0

    send(updates.my_chat_member(customer, "member", old_status="kicked"))

    assert User.objects.get(telegram_id=42).is_blocked is False
    [task] = DBTaskResult.objects.all()
    assert task.run_after <= timezone.now()
    assert_the_delivery_task_delivers(fake_api, run_due_tasks, purchase)


def test_short_flood_wait_is_waited_out_and_the_content_delivered(buy, pay, fake_api, product):
    invoice = buy(product)
    fake_api.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)

    pay(invoice)

    refused, delivered = sent_to(fake_api, 42, containing=SECRET)
    assert delivered.at - refused.at >= 0.9
    assert Purchase.objects.get().delivered_at is not None
    assert not DBTaskResult.objects.exclude(task_path=review_invitation_task.module_path).exists()  # no retry
    assert english(texts.delivery_delayed) not in [body(c) for c in sent_to(fake_api, 42)]


def answer_bad_gateway_as_a_proxy_does(fake_api) -> None:
    """Make the fake answer its injected 502s as nginx in front of the Bot API does: an HTML page, not JSON."""
    json_handler = fake_api._server.RequestHandlerClass

    class ProxyHandler(json_handler):
        def _reply(self, status, payload):
            if status != 502:
                return super()._reply(status, payload)
            page = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
            self.send_response(502)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

    fake_api._server.RequestHandlerClass = ProxyHandler


@pytest.mark.parametrize(
    "code, description, retry_after, html",
    [
        (429, "Too Many Requests: retry after 60", 60, False),
        (502, "Bad Gateway", None, False),
        (502, "Bad Gateway", None, True),
    ],
    ids=["long flood wait", "bad gateway", "bad gateway html page"],
)
def test_delivery_telegram_cannot_take_now_is_retried_in_the_background(
    code, description, retry_after, html, buy, pay, fake_api, run_due_tasks, product
):
    invoice = buy(product)
    if html:
        answer_bad_gateway_as_a_proxy_does(fake_api)
    fake_api.fail_next("sendMessage", code, description, retry_after=retry_after)
    mark = fake_api.mark()

    pay(invoice)

    purchase = Purchase.objects.get()
    assert purchase.delivered_at is None
    assert english(texts.delivery_delayed) in [body(c) for c in sent_to(fake_api, 42, after=mark)]
    [task] = DBTaskResult.objects.all()
    assert task.run_after > timezone.now()
    assert run_due_tasks() == 0

    DBTaskResult.objects.update(run_after=timezone.now())
    assert_the_delivery_task_delivers(fake_api, run_due_tasks, purchase)
    assert run_due_tasks() == 0


def test_delivery_retried_in_the_background_speaks_the_buyers_language(buy, pay, fake_api, run_due_tasks, product):
    ivan = updates.tg_user(42, first_name="Иван", username="ivan", language_code="ru")
    invoice = buy(product, user=ivan)
    fake_api.fail_next("sendMessage", 502, "Bad Gateway")
    pay(invoice, user=ivan)
    with translation.override("ru"):
        delayed, heading = texts.delivery_delayed(), texts.delivery_heading("Editor Pro")
    assert delayed in [body(c) for c in sent_to(fake_api, 42)]
    assert heading != english(texts.delivery_heading, "Editor Pro"), "no Russian translation to check against"

    DBTaskResult.objects.update(run_after=timezone.now())
    mark = fake_api.mark()
    assert run_due_tasks() == 1

    [delivery] = sent_to(fake_api, 42, after=mark, containing=SECRET)
    assert heading in delivery.params["text"]


def test_file_telegram_refuses_alerts_staff_and_is_not_retried(staff, purchase_through_the_bot, fake_api, category):
    item = product_with_secret("Broken file", category=category, price=50, file_id="not-a-file-id")
    fake_api.fail_next("sendDocument", 400, "Bad Request: wrong file identifier")

    purchase = purchase_through_the_bot(item)

    purchase.refresh_from_db()
    assert purchase.delivered_at is None
    assert "wrong file identifier" in purchase.delivery_error
    for admin_id in STAFF:
        alerts = [c for c in sent_to(fake_api, admin_id) if "wrong file identifier" in c.params["text"]]
        assert len(alerts) == 1
        assert "Broken file" in alerts[0].params["text"]
    assert DBTaskResult.objects.count() == 0


# --- free products ---


def test_get_delivers_a_free_product_at_once(press, fake_api, category):
    free = product_with_secret("Guide", category=category, price=0)

    calls = press(callbacks.buy(free.pk))

    assert [c for c in calls if c.method == "sendInvoice"] == []
    purchase = Purchase.objects.get()
    assert (purchase.payment_type, purchase.price) == (Purchase.PaymentType.FREE, 0)
    assert purchase.delivered_at is not None
    assert len(sent_to(fake_api, 42, containing="SECRET-of-Guide")) == 1


def test_pressing_get_twice_keeps_one_purchase_and_sends_the_content_again(press, fake_api, category):
    free = product_with_secret("Guide", category=category, price=0)

    press(callbacks.buy(free.pk))
    press(callbacks.buy(free.pk))

    assert Purchase.objects.count() == 1
    assert len(sent_to(fake_api, 42, containing="SECRET-of-Guide")) == 2


# --- opening what was bought ---


def test_open_from_my_purchases_sends_the_content_again(press, bought, fake_api, product):
    [my_purchases] = [c for c in press(callbacks.purchases()) if c.method == "editMessageText"]
    [product_data] = [data for text, data in buttons(my_purchases) if "Editor Pro" in text]
    [card] = [c for c in press(product_data) if c.method == "editMessageText"]
    [open_data] = [data for text, data in buttons(card) if text == "📂 Open"]
    mark = fake_api.mark()

    press(open_data)

    [content] = sent_to(fake_api, 42, after=mark, containing=SECRET)
    assert english(texts.reopen_heading, "Editor Pro") in content.params["text"]
    assert Purchase.objects.count() == 1


def test_open_of_a_product_not_owned_sends_nothing_secret(press, fake_api, bob, product):
    PurchaseFactory(user=UserFactory(telegram_id=43), product=product, delivered_at=timezone.now())  # owned by Bob, not by Ann

    calls = press(callbacks.open_(product.pk))

    assert leaks(fake_api, SECRET) == []
    assert callback_answers(calls) == [NO_LONGER_AVAILABLE]


# --- refunds ---


def test_refunded_payment_marks_the_purchase_refunded_and_tells_the_buyer(send, fake_api, bought, customer):
    mark = fake_api.mark()

    send(updates.refunded_payment(customer, total_amount=50, charge_id=bought.payment_id))

    bought.refresh_from_db()
    assert bought.status == Purchase.Status.REFUNDED
    assert bought.refunded_at is not None
    [told] = sent_to(fake_api, 42, after=mark)
    assert told.params["text"] == english(texts.refunded_notice, "Editor Pro")


def test_the_same_refund_sent_again_tells_the_buyer_once(send, fake_api, bought, customer):
    update = updates.refunded_payment(customer, total_amount=50, charge_id=bought.payment_id)
    send(update)
    mark = fake_api.mark()

    send(update)

    assert sent_to(fake_api, 42, after=mark) == []
    bought.refresh_from_db()
    assert bought.status == Purchase.Status.REFUNDED


def test_refund_of_an_unknown_payment_changes_nothing(send, fake_api, bought, customer):
    mark = fake_api.mark()

    send(updates.refunded_payment(customer, total_amount=50, charge_id="never-seen"))

    assert sent_to(fake_api, 42, after=mark) == []
    bought.refresh_from_db()
    assert bought.status == Purchase.Status.PAID


def test_refund_of_an_unmatched_payment_is_recorded_on_it_once(send, fake_api, customer, product):
    unmatched = UnmatchedPayment.objects.create(
        telegram_id=42, payment_id="lost-1", amount=50, currency="XTR", payload="x", reason="the product no longer exists"
    )
    update = updates.refunded_payment(customer, total_amount=50, charge_id="lost-1")
    send(update)
    unmatched.refresh_from_db()
    first = unmatched.refunded_at
    assert first is not None
    send(update)  # Telegram repeats it: recorded once, nobody told anything
    unmatched.refresh_from_db()
    assert unmatched.refunded_at == first
    assert sent_to(fake_api, 42) == []


def test_after_a_refund_the_product_is_for_sale_again_and_no_longer_opens(send, press, card, fake_api, bought, customer, product):
    send(updates.refunded_payment(customer, total_amount=50, charge_id=bought.payment_id))
    mark = fake_api.mark()

    assert card(product) == [("Buy for ⭐ 50", f"buy:{product.pk}"), ("« Back", callbacks.catalog())]
    calls = press(callbacks.open_(product.pk))
    assert callback_answers(calls) == [NO_LONGER_AVAILABLE]
    assert leaks(fake_api, SECRET, after=mark) == []
    [my_purchases] = [c for c in press(callbacks.purchases()) if c.method == "editMessageText"]
    assert "Editor Pro" not in repr(my_purchases.params)


# --- configuration ---


def test_runbot_refuses_roubles_without_a_payment_provider_token(settings, fake_api):
    settings.SHOP_CURRENCY = "RUB"
    settings.PAYMENT_PROVIDER_TOKEN = ""

    with pytest.raises(CommandError, match="PAYMENT_PROVIDER_TOKEN"):
        call_command("runbot")

    assert fake_api.calls == []


# --- the secret stays secret until paid ---


def test_hidden_content_is_never_sent_before_payment(send, press, buy, pre_checkout, fake_api, customer, product):
    send(updates.message(customer, "/start"))
    send(updates.message(customer, "/catalog"))
    send(updates.message(customer, f"/start p{product.pk}"))
    press(callbacks.catalog())
    press(callbacks.category(product.category_id))
    press(callbacks.product(product.pk))
    press(callbacks.purchases())
    press(callbacks.open_(product.pk))
    invoice = buy(product)
    pre_checkout(invoice.params["payload"])

    assert len(fake_api.calls) >= 10
    assert leaks(fake_api, SECRET) == []
    assert Purchase.objects.count() == 0


def test_an_invoice_paid_in_a_group_is_recorded_and_delivered_privately(send, fake_api, customer, product):
    """An invoice forwarded to a group can be paid there: the money counts all the same."""
    update = updates.stars_payment(customer, product, charge_id="group-charge")
    update["message"]["chat"] = {"id": -100123, "type": "supergroup", "title": "Friends"}
    send(update)
    purchase = Purchase.objects.get(payment_id="group-charge")
    assert purchase.delivered_at is not None
    content = [c for c in fake_api.calls_of("sendMessage") if "KEY-123" in c.params["text"]]
    assert content[-1].params["chat_id"] == str(customer["id"])  # in private, not in the group


# --- what a delivery ends with, and files of every kind ---

AFTER_CONTENT = [("📦 My purchases", callbacks.purchases()), ("« Menu", callbacks.menu())]


def test_the_delivery_and_open_end_with_buttons_to_my_purchases_and_the_menu(buy, pay, press, fake_api, product):
    mark = fake_api.mark()
    pay(buy(product))
    delivered = sent_to(fake_api, 42, after=mark, method="sendMessage")
    assert SECRET in body(delivered[-1]) and buttons(delivered[-1]) == AFTER_CONTENT
    opened = [c for c in press(callbacks.open_(product.pk)) if c.method == "sendMessage"]
    assert buttons(opened[-1]) == AFTER_CONTENT


def test_only_the_last_message_of_a_delivery_carries_the_buttons(buy, pay, fake_api, category):
    item = ProductFactory(category=category, price=5, hidden_content="x" * 1500, file_id="BQAC-file")
    mark = fake_api.mark()
    pay(buy(item))
    sent = sent_to(fake_api, 42, after=mark, method=("sendMessage", "sendDocument"))
    assert [c.method for c in sent] == ["sendMessage", "sendDocument"]  # too long for a caption: text, then file
    assert "reply_markup" not in sent[0].params and buttons(sent[1]) == AFTER_CONTENT


@pytest.mark.parametrize(
    ("kind", "method"),
    [
        ("photo", "sendPhoto"),
        ("video", "sendVideo"),
        ("audio", "sendAudio"),
        ("voice", "sendVoice"),
        ("animation", "sendAnimation"),
    ],
)
def test_a_file_of_any_kind_is_sent_with_its_own_method(buy, pay, fake_api, category, kind, method):
    item = ProductFactory(category=category, price=5, hidden_content="Enjoy", file_id=f"{kind}-file-id", file_kind=kind)
    mark = fake_api.mark()
    pay(buy(item))
    (sent,) = sent_to(fake_api, 42, after=mark, method=method)
    assert sent.params[kind] == f"{kind}-file-id" and "Enjoy" in sent.params["caption"]
    assert sent.status == 200


def test_an_uploaded_photo_is_sent_as_a_photo_and_its_file_id_kept(settings, tmp_path, buy, pay, fake_api, category):
    settings.MEDIA_ROOT = tmp_path
    item = ProductFactory(
        category=category, price=5, hidden_content="", file_kind="photo", file=ContentFile(b"\x89PNG...", name="cover.png")
    )
    pay(buy(item))
    (sent,) = [c for c in fake_api.calls if c.method == "sendPhoto"]
    assert sent.status == 200 and [u.content for u in fake_api.uploads] == [b"\x89PNG..."]
    item.refresh_from_db()
    assert item.file_id == f"uploaded-1-{fake_api.uploads[0].filename}"
