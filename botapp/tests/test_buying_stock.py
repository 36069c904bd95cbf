"""Buying from stock through the bot: the card's stock and quantity, invoices for several units, each buyer's
own units delivered ready to copy, a payment stock could not cover refunded, and "notify me when it is back".

Updates go through botapp.dispatch.process_update to a real TeleBot talking HTTP to the fake Bot API.
"""

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from botapp import callbacks
from botapp.testing import updates
from botapp.testing.helpers import body, buttons, callback_answers, sent_to
from shop.models import Broadcast, Purchase
from shop.stock.models import RestockRequest, StockUnit
from shop.stock.selectors import stock_available_count
from shop.stock.services import lines_from_text, stock_add
from shop.testing.factories import StockProductFactory, stocked

pytestmark = pytest.mark.django_db

STAFF = 777


@pytest.fixture(autouse=True)
def shop_settings(settings):
    settings.SHOP_CURRENCY = "XTR"
    settings.PAYMENT_PROVIDER_TOKEN = ""
    settings.ADMIN_IDS = [STAFF]


@pytest.fixture
def keys(category):
    product = StockProductFactory(category=category, name="Game key", price=10, max_per_order=3)
    stocked(product, 5)
    return product


@pytest.fixture
def card(press):
    """Open a card (or press a quantity button); returns the screen shown."""

    def _card(data, *, user=None):
        screens = [c for c in press(data, user=user) if c.method == "editMessageText"]
        assert len(screens) == 1
        return screens[0]

    return _card


@pytest.fixture
def buy_and_pay(press, send, fake_api, pay, customer):
    """Press Buy for `quantity`, pass pre-checkout and pay; returns (invoice, calls made after the payment)."""

    def _buy_and_pay(product, quantity=1, *, user=None):
        user = user or customer
        invoices = [c for c in press(callbacks.buy(product.pk, quantity), user=user) if c.method == "sendInvoice"]
        assert len(invoices) == 1
        invoice = invoices[0]
        send(updates.pre_checkout(user, invoice.params["payload"], total_amount=invoice.json("prices")[0]["amount"]))
        mark = fake_api.mark()
        pay(invoice, user=user)
        return invoice, fake_api.calls[mark:]

    return _buy_and_pay


# --- the card ---


def test_card_shows_how_many_are_in_stock_and_a_quantity_to_choose(card, keys):
    screen = card(callbacks.product(keys.pk))
    assert "📦 In stock: 5" in body(screen)
    assert buttons(screen) == [
        ("➖", callbacks.quantity(keys.pk, 1)),
        ("1 pcs", callbacks.noop()),
        ("➕", callbacks.quantity(keys.pk, 2)),
        ("Buy for ⭐ 10", callbacks.buy(keys.pk)),
        ("« Back", callbacks.catalog()),
    ]


def test_more_and_fewer_change_the_quantity_and_the_price_within_the_order_limit(card, keys):
    two = card(callbacks.quantity(keys.pk, 2))
    assert ("Buy 2 for ⭐ 20", callbacks.buy(keys.pk, 2)) in buttons(two)
    too_many = card(callbacks.quantity(keys.pk, 50))  # forged or stale: kept within the limit (3)
    assert ("3 pcs", callbacks.noop()) in buttons(too_many)
    assert ("Buy 3 for ⭐ 30", callbacks.buy(keys.pk, 3)) in buttons(too_many)
    assert ("➕", callbacks.quantity(keys.pk, 3)) in buttons(too_many)


def test_the_quantity_offered_never_exceeds_the_stock(card, keys):
    StockUnit.objects.filter(content__in=["KEY-1", "KEY-2", "KEY-3"]).delete()
    screen = card(callbacks.quantity(keys.pk, 3))
    assert "In stock: 2" in body(screen)
    assert ("Buy 2 for ⭐ 20", callbacks.buy(keys.pk, 2)) in buttons(screen)


def test_above_the_threshold_the_card_says_only_in_stock(card, keys):
    keys.stock_shown_up_to = 4
    keys.save()
    text = body(card(callbacks.product(keys.pk)))
    assert "📦 In stock" in text and "In stock:" not in text


def test_a_sold_out_card_says_so_and_offers_to_notify(card, keys):
    StockUnit.objects.all().delete()
    screen = card(callbacks.product(keys.pk))
    assert "❌ Sold out" in body(screen)
    assert buttons(screen) == [("🔔 Notify me when it is back", callbacks.notify(keys.pk)), ("« Back", callbacks.catalog())]


def test_notify_me_records_one_request_and_says_so(press, keys):
    StockUnit.objects.all().delete()
    first = callback_answers(press(callbacks.notify(keys.pk)))
    again = callback_answers(press(callbacks.notify(keys.pk)))
    assert first == ["🔔 Done: we will message you when it is back in stock."]
    assert again == ["🔔 You are on the list already: we will message you when it is back."]
    assert RestockRequest.objects.filter(product=keys, user__telegram_id=42).count() == 1


# --- buying several ---


def test_an_invoice_for_several_units_charges_price_times_quantity(press, keys):
    invoice = next(c for c in press(callbacks.buy(keys.pk, 3)) if c.method == "sendInvoice")
    assert invoice.json("prices") == [{"label": "Game key × 3", "amount": 30}]


@pytest.mark.parametrize("quantity", [0, 4, 9999])
def test_a_quantity_outside_the_limits_is_refused_with_a_message_and_the_card(press, keys, quantity):
    calls = press(f"buy:{keys.pk}:{quantity}")
    assert [c.method for c in calls if c.method == "sendInvoice"] == []
    assert callback_answers(calls) == ["You can buy from 1 to 3 at a time."]
    card = [c for c in calls if c.method == "sendMessage"]
    assert len(card) == 1 and "In stock: 5" in body(card[0])


def test_more_than_is_left_is_refused_with_what_is_left(press, keys):
    StockUnit.objects.filter(content__in=["KEY-1", "KEY-2", "KEY-3"]).delete()
    calls = press(callbacks.buy(keys.pk, 3))
    assert callback_answers(calls) == ["Only 2 left: choose fewer."]
    assert not [c for c in calls if c.method == "sendInvoice"]


def test_the_buyer_receives_exactly_their_units_ready_to_copy(buy_and_pay, fake_api, keys):
    _invoice, calls = buy_and_pay(keys, 2)
    delivered = [c for c in calls if c.method == "sendMessage" and c.params["chat_id"] == "42"]
    assert len(delivered) == 1
    text = delivered[0].params["text"]
    assert "🔑 Your 2 items:" in text
    assert "1. <code>KEY-1</code>" in text and "2. <code>KEY-2</code>" in text
    purchase = Purchase.objects.get()
    assert (purchase.quantity, purchase.price, purchase.delivered_at is not None) == (2, 20, True)
    assert stock_available_count(product_id=keys.pk, up_to=10) == 3


def test_two_buyers_never_get_the_same_unit_and_my_purchases_shows_each_their_own(buy_and_pay, press, keys):
    bob = updates.tg_user(43, first_name="Bob", language_code="en")
    buy_and_pay(keys, 3)
    buy_and_pay(keys, 2, user=bob)
    ann_open = [c for c in press(callbacks.open_(keys.pk)) if c.method == "sendMessage"]
    bob_open = [c for c in press(callbacks.open_(keys.pk), user=bob) if c.method == "sendMessage"]
    ann_keys = {f"KEY-{n}" for n in range(1, 6) if f"<code>KEY-{n}</code>" in body(ann_open[0])}
    bob_keys = {f"KEY-{n}" for n in range(1, 6) if f"<code>KEY-{n}</code>" in body(bob_open[0])}
    assert (ann_keys, bob_keys) == ({"KEY-1", "KEY-2", "KEY-3"}, {"KEY-4", "KEY-5"})


def test_units_with_html_characters_are_sent_escaped(buy_and_pay, keys):
    StockUnit.objects.all().delete()
    stock_add(product=keys, lines=lines_from_text("a<b>&c"))
    _invoice, calls = buy_and_pay(keys)
    delivered = [c for c in calls if c.method == "sendMessage" and c.params["chat_id"] == "42"]
    assert "<code>a&lt;b&gt;&amp;c</code>" in delivered[0].params["text"]


def test_many_units_come_in_a_file(buy_and_pay, fake_api, category):
    product = StockProductFactory(category=category, name="Bulk codes", price=1, max_per_order=100)
    stock_add(product=product, lines=lines_from_text("\n".join(f"{n:04d}-" + "x" * 200 for n in range(100))))
    _invoice, calls = buy_and_pay(product, 100)
    messages = [c for c in calls if c.method == "sendMessage" and c.params["chat_id"] == "42"]
    files = [c for c in calls if c.method == "sendDocument" and c.params["chat_id"] == "42"]
    assert len(messages) == 1 and "Your 100 items are in the file below." in body(messages[0])
    assert len(files) == 1
    upload = fake_api.uploads[-1]
    assert upload.filename == "bulk-codes.txt"
    lines = upload.content.decode().splitlines()
    assert len(lines) == 100 and lines[0] == "0000-" + "x" * 200


def test_a_few_long_units_are_grouped_into_as_few_messages_as_fit(buy_and_pay, category):
    product = StockProductFactory(category=category, name="Accounts", price=1, max_per_order=10)
    stock_add(product=product, lines=lines_from_text("\n".join(f"{n}:" + "p" * 990 for n in range(10))))
    _invoice, calls = buy_and_pay(product, 10)
    messages = [c for c in calls if c.method == "sendMessage" and c.params["chat_id"] == "42"]
    assert len(messages) == 3  # 10 units of ~1000 characters: 4 fit a message
    assert sum(body(m).count("p" * 990) for m in messages) == 10


def test_shared_content_and_units_come_together(buy_and_pay, keys):
    keys.hidden_content = "Activate at <b>example.com/redeem</b>"
    keys.save()
    _invoice, calls = buy_and_pay(keys)
    text = next(c for c in calls if c.method == "sendMessage" and c.params["chat_id"] == "42").params["text"]
    assert text.index("example.com/redeem") < text.index("<code>KEY-1</code>")


# --- paid when stock ran out ---


def test_a_payment_stock_cannot_cover_is_refunded_and_the_buyer_and_staff_told(buy_and_pay, fake_api, press, send, pay, keys):
    invoice = next(c for c in press(callbacks.buy(keys.pk, 2)) if c.method == "sendInvoice")
    StockUnit.objects.exclude(content="KEY-5").delete()  # sold elsewhere meanwhile (no pre-checkout hold here)
    mark = fake_api.mark()
    update = pay(invoice)
    refunds = [c for c in fake_api.calls[mark:] if c.method == "refundStarPayment"]
    charge = update["message"]["successful_payment"]["telegram_payment_charge_id"]
    assert [(c.params["user_id"], c.params["telegram_payment_charge_id"]) for c in refunds] == [("42", charge)]
    purchase = Purchase.objects.get()
    assert purchase.status == Purchase.Status.REFUNDED and purchase.units.count() == 0
    assert sent_to(fake_api, 42, after=mark, containing="sold out while you were paying. Your payment of ⭐ 20 has been refunded")
    assert sent_to(fake_api, STAFF, after=mark, containing="refunded automatically")
    assert stock_available_count(product_id=keys.pk, up_to=10) == 1  # the last unit was not taken half-way
    # Telegram repeats the update: nothing is refunded or said twice
    mark = fake_api.mark()
    send(update)
    assert [c for c in fake_api.calls[mark:] if c.method in ("refundStarPayment", "sendMessage")] == []


def test_a_refund_telegram_refuses_is_left_to_staff_and_retried_with_the_update(fake_api, press, pay, send, keys):
    invoice = next(c for c in press(callbacks.buy(keys.pk)) if c.method == "sendInvoice")
    StockUnit.objects.all().delete()
    fake_api.fail_next("refundStarPayment", 400, "Bad Request: CHARGE_NOT_FOUND")
    mark = fake_api.mark()
    update = pay(invoice)
    purchase = Purchase.objects.get()
    assert purchase.status == Purchase.Status.PAID and not purchase.gives_access
    assert sent_to(fake_api, 42, after=mark, containing="Staff have been told and will refund your payment")
    assert sent_to(fake_api, STAFF, after=mark, containing="automatic refund failed")
    send(update)  # the same payment again: the refund is tried again, and now goes through
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.REFUNDED


# --- back in stock ---


def test_everyone_waiting_is_told_once_when_stock_comes_back(press, fake_api, keys, run_due_tasks):
    bob = updates.tg_user(43, first_name="Bob", language_code="ru")
    StockUnit.objects.all().delete()
    press(callbacks.notify(keys.pk))
    press(callbacks.notify(keys.pk), user=bob)
    mark = fake_api.mark()

    stock_add(product=keys, lines=lines_from_text("NEW-1\nNEW-2"))
    run_due_tasks()

    for chat, said, view in (
        (42, "🔔 Back in stock: <b>Game key</b> · ⭐ 10", "🛍 View"),
        (43, "🔔 Снова в наличии", "🛍 Смотреть"),
    ):
        told = sent_to(fake_api, chat, after=mark, containing=said)  # in each customer's language
        assert len(told) == 1
        assert buttons(told[0]) == [(view, callbacks.product(keys.pk))]
    assert RestockRequest.objects.count() == 0
    assert Broadcast.objects.get().status == Broadcast.Status.DONE
    mark = fake_api.mark()
    stock_add(product=keys, lines=lines_from_text("NEW-3"))  # more stock: nobody is waiting any more
    run_due_tasks()
    assert sent_to(fake_api, 42, after=mark) == [] and sent_to(fake_api, 43, after=mark) == []


def test_staff_are_alerted_when_stock_runs_low_and_out(buy_and_pay, fake_api, keys, run_due_tasks):
    keys.low_stock_threshold = 2
    keys.save()
    buy_and_pay(keys, 3)
    run_due_tasks()
    assert len(sent_to(fake_api, STAFF, containing="Game key: only 2 left in stock.")) == 1
    buy_and_pay(keys, 2, user=updates.tg_user(43, first_name="Bob", language_code="en"))
    run_due_tasks()
    assert len(sent_to(fake_api, STAFF, containing="Game key is out of stock.")) == 1
    assert len(sent_to(fake_api, STAFF, containing="only 2 left")) == 1


def test_a_payment_provider_payment_out_of_stock_is_left_to_staff(settings, fake_api, press, pay, category):
    settings.SHOP_CURRENCY, settings.PAYMENT_PROVIDER_TOKEN = "RUB", "provider-token"
    product = StockProductFactory(category=category, name="Voucher", price=100)
    stocked(product, 1)
    invoice = next(c for c in press(callbacks.buy(product.pk)) if c.method == "sendInvoice")
    StockUnit.objects.all().delete()
    mark = fake_api.mark()
    pay(invoice)
    assert [c for c in fake_api.calls[mark:] if c.method == "refundStarPayment"] == []
    purchase = Purchase.objects.get()
    assert purchase.status == Purchase.Status.PAID and purchase.review_reason.startswith("out of stock")
    assert sent_to(fake_api, 42, after=mark, containing="Staff have been told and will refund your payment")
    assert sent_to(fake_api, STAFF, after=mark, containing="Refund it with the payment provider")


def test_a_free_stock_product_gives_one_unit_once(press, fake_api, category):
    product = StockProductFactory(category=category, name="Free code", price=0)
    stocked(product, 2)
    first = press(callbacks.buy(product.pk))
    again = press(callbacks.buy(product.pk))
    assert "<code>KEY-1</code>" in body(next(c for c in first if c.method == "sendMessage"))
    assert callback_answers(again) == ["You already own this product."]
    assert "<code>KEY-1</code>" in body(next(c for c in again if c.method == "sendMessage"))  # theirs again
    assert "KEY-2" not in " ".join(body(c) for c in first + again if c.method == "sendMessage")
    assert Purchase.objects.get().units.count() == 1


def test_units_held_up_by_telegram_arrive_with_the_background_retry(settings, buy_and_pay, fake_api, keys, run_due_tasks):
    settings.ADMIN_IDS = []
    fake_api.fail_next("sendMessage", 502, "Bad Gateway", times=2)  # the delivery, and the "it is coming" note
    buy_and_pay(keys, 2)
    purchase = Purchase.objects.get()
    assert purchase.delivered_at is None and purchase.units.count() == 2
    DBTaskResult.objects.update(run_after=timezone.now())  # the retry's time has come
    mark = fake_api.mark()
    run_due_tasks()
    delivered = sent_to(fake_api, 42, after=mark, containing="<code>KEY-1</code>")
    assert len(delivered) == 1 and "<code>KEY-2</code>" in body(delivered[0])
