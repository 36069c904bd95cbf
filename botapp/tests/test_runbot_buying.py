"""Buying through a real `runbot` process and the fake Bot API, end to end."""

import signal

import pytest

from botapp.telegram.refunds import refund_star_payment
from botapp.testing import updates
from botapp.testing.helpers import button_data, buttons, leaks, queue_press
from shop.models import Purchase, User
from shop.services.payments import purchase_refund
from shop.testing.factories import CategoryFactory, ProductFactory


@pytest.mark.django_db(transaction=True)
def test_customer_buys_receives_and_loses_on_refund(api, runbot, settings):
    product = ProductFactory(
        name="Editor Pro",
        description="<b>Best</b> editor",
        price=50,
        hidden_content="KEY-SECRET-1",
        file_id="BQAC-manual-pdf",
    )
    bot = runbot(env={"ADMIN_IDS": "777"})
    api.wait_for("setMyCommands", timeout=20)
    ann = updates.tg_user(42, first_name="Ann", username="ann")

    api.push(updates.message(ann, f"/start p{product.pk}"))
    card = api.wait_for("sendMessage", lambda c: "Editor Pro" in c.params["text"])
    assert "⭐ 50" in card.params["text"]

    mark = queue_press(api, ann, button_data(card, "Buy for ⭐ 50"))
    invoice = api.wait_for("sendInvoice", after=mark)
    assert (invoice.params["currency"], invoice.params["provider_token"]) == ("XTR", "")
    assert invoice.json("prices") == [{"label": "Editor Pro", "amount": 50}]
    payload = invoice.params["payload"]
    assert len(payload.encode()) <= 128

    mark = api.mark()
    api.push(updates.pre_checkout(ann, payload, total_amount=50))
    answer = api.wait_for("answerPreCheckoutQuery", after=mark)
    assert answer.params["ok"] == "True"
    assert not Purchase.objects.exists()
    assert leaks(api, "KEY-SECRET-1") == []  # nothing handed out before payment

    mark = api.mark()
    api.push(updates.successful_payment(ann, payload, total_amount=50, charge_id="stars-charge-1"))
    document = api.wait_for("sendDocument", after=mark)
    assert document.params["document"] == "BQAC-manual-pdf"
    assert "KEY-SECRET-1" in document.params["caption"]
    assert document.params["protect_content"] == "True"
    notice = api.wait_for("sendMessage", lambda c: c.params["chat_id"] == "777", after=mark)
    assert "Editor Pro" in notice.params["text"] and "⭐ 50" in notice.params["text"]
    purchase = Purchase.objects.get()
    assert (purchase.payment_id, purchase.price, purchase.currency, purchase.payment_type) == (
        "stars-charge-1",
        50,
        "XTR",
        "stars",
    )

    # My purchases lists it; the card now offers Open
    mark = api.mark()
    api.push(updates.message(ann, "/purchases"))
    mine = api.wait_for("sendMessage", after=mark)
    assert any(text.startswith("Editor Pro") for text, _ in buttons(mine))

    # Telegram delivers the same payment again: nothing changes
    mark = api.mark()
    api.push(updates.successful_payment(ann, payload, total_amount=50, charge_id="stars-charge-1"))
    api.push(updates.message(ann, "/help"))
    api.wait_for("sendMessage", lambda c: "Help" in c.params["text"], after=mark)
    assert Purchase.objects.count() == 1
    assert not [c for c in api.calls[mark:] if c.method == "sendDocument"]  # not delivered twice
    assert not [c for c in api.calls[mark:] if c.method == "sendMessage" and c.params["chat_id"] == "777"]

    # Staff refund it (as the admin action does); Telegram confirms with refunded_payment
    settings.TELEGRAM_API_URL, settings.TELEGRAM_BOT_TOKEN = api.url, api.token
    purchase_refund(purchase=purchase, refund=refund_star_payment)
    refund_call = api.calls_of("refundStarPayment")[0]
    assert (refund_call.params["user_id"], refund_call.params["telegram_payment_charge_id"]) == ("42", "stars-charge-1")
    assert Purchase.objects.get().status == "refunded"
    # Telegram's refunded_payment for it changes nothing more (Telegram itself tells the buyer)
    mark = api.mark()
    api.push(updates.refunded_payment(ann, total_amount=50, charge_id="stars-charge-1"))
    api.push(updates.message(ann, "/help"))
    api.wait_for("sendMessage", lambda c: "Help" in c.params["text"], after=mark)
    assert not [c for c in api.calls[mark:] if "refunded" in c.params.get("text", "")]
    assert Purchase.objects.get().status == "refunded"

    # The content is no longer handed out
    mark = queue_press(api, ann, f"open:{product.pk}")
    api.wait_for("answerCallbackQuery", after=mark)
    api.push(updates.message(ann, "/help"))
    api.wait_for("sendMessage", lambda c: "Help" in c.params["text"], after=mark)
    assert leaks(api, "KEY-SECRET-1", after=mark) == []

    code, _ = bot.stop(signal.SIGTERM)
    assert code == 0, bot.output()
    assert "KEY-SECRET-1" not in bot.output()
    assert User.objects.get(telegram_id=42).purchases.count() == 1  # kept as history


@pytest.mark.django_db(transaction=True)
def test_provider_currency_invoices_in_kopecks_with_the_token(api, runbot):
    course = ProductFactory(
        category=CategoryFactory(category_name="Courses"), name="Python", price=990, hidden_content="https://course"
    )
    bot = runbot(env={"SHOP_CURRENCY": "RUB", "PAYMENT_PROVIDER_TOKEN": "381764678:TEST:provider"})
    api.wait_for("setMyCommands", timeout=20)
    bob = updates.tg_user(7, first_name="Bob", language_code="ru")

    api.push(updates.message(bob, f"/start p{course.pk}"))
    card = api.wait_for("sendMessage", lambda c: "Python" in c.params["text"])
    assert "990 ₽" in card.params["text"]
    invoice = api.wait_for("sendInvoice", after=queue_press(api, bob, buttons(card)[0][1]))
    assert invoice.params["currency"] == "RUB"
    assert invoice.params["provider_token"] == "381764678:TEST:provider"
    assert invoice.json("prices")[0]["amount"] == 99000

    payload = invoice.params["payload"]
    api.push(updates.pre_checkout(bob, payload, total_amount=99000, currency="RUB"))
    assert api.wait_for("answerPreCheckoutQuery").params["ok"] == "True"
    api.push(updates.successful_payment(bob, payload, total_amount=99000, currency="RUB", charge_id="rub-1"))
    api.wait_for("sendMessage", lambda c: "https://course" in c.params["text"])
    purchase = Purchase.objects.get()
    assert (purchase.price, purchase.currency, purchase.payment_type, purchase.provider_payment_id) == (
        990,
        "RUB",
        "provider",
        "provider-rub-1",
    )
    assert bot.stop(signal.SIGTERM)[0] == 0


@pytest.mark.django_db(transaction=True)
def test_runbot_refuses_a_provider_currency_without_a_token(api, runbot):
    bot = runbot(env={"SHOP_CURRENCY": "RUB", "PAYMENT_PROVIDER_TOKEN": ""})
    assert bot.process.wait(timeout=30) != 0
    assert "PAYMENT_PROVIDER_TOKEN" in bot.output()
