"""Buttons pressed outside the presser's private chat (under the bot's message in a group, or on an inline
message) never show personal content there: the press is answered, and the screen goes to the private chat."""

import pytest

from botapp import callbacks
from botapp.testing import updates
from botapp.testing.helpers import buttons, callback_answers, sent_to
from shop.models import User
from shop.testing.factories import PurchaseFactory, UserFactory

pytestmark = pytest.mark.django_db

GROUP = {"id": -100123, "type": "supergroup", "title": "Friends"}
OPENED_IN_PRIVATE = "Opened in your private chat with me."


@pytest.fixture(autouse=True)
def stars(settings):
    settings.SHOP_CURRENCY = "XTR"
    settings.ADMIN_IDS = []


@pytest.fixture
def owned(product):
    return PurchaseFactory(user=UserFactory(telegram_id=42, username="ann"), product=product)


def press_outside(send, fake_api, customer, data: str, where: str):
    """Press a button under the bot's message in a group, or on an inline message; returns the calls in answer."""
    if where == "group":
        update = updates.callback(customer, data, message_id=31, chat=GROUP)
    else:
        update = updates.callback(customer, data, inline_message_id="AAAAAInline")
    mark = fake_api.mark()
    assert send(update) is True
    calls = fake_api.calls[mark:]
    assert [c.params["callback_query_id"] for c in calls if c.method == "answerCallbackQuery"] == [
        update["callback_query"]["id"]
    ]  # answered, once
    assert [c for c in calls if c.params.get("chat_id") == str(GROUP["id"]) or "inline_message_id" in c.params] == []
    return calls


WHERE = ["group", "inline message"]


@pytest.mark.parametrize("where", WHERE)
def test_my_purchases_pressed_outside_the_private_chat_opens_there(send, fake_api, customer, owned, where):
    calls = press_outside(send, fake_api, customer, callbacks.purchases(), where)

    [screen] = sent_to(fake_api, 42, method="sendMessage")
    assert "My purchases" in screen.params["text"]
    assert any(text.startswith("Editor Pro") for text, _ in buttons(screen))
    assert callback_answers(calls) == [OPENED_IN_PRIVATE]
    assert fake_api.calls_of("editMessageText") == []


@pytest.mark.parametrize("where", WHERE)
def test_a_product_card_with_open_goes_to_the_private_chat(send, fake_api, customer, owned, product, where):
    press_outside(send, fake_api, customer, callbacks.product(product.pk), where)

    [card] = sent_to(fake_api, 42, method="sendMessage")
    assert "You own this product" in card.params["text"]
    assert ("📂 Open", callbacks.open_(product.pk)) in buttons(card)


@pytest.mark.parametrize("where", WHERE)
def test_open_pressed_in_a_group_sends_the_content_privately(send, fake_api, customer, owned, product, where):
    press_outside(send, fake_api, customer, callbacks.open_(product.pk), where)

    assert "KEY-123" in sent_to(fake_api, 42)[0].params["text"]


def test_buy_pressed_in_a_group_sends_the_invoice_privately(send, fake_api, customer, product):
    press_outside(send, fake_api, customer, callbacks.buy(product.pk), "group")

    [invoice] = fake_api.calls_of("sendInvoice")
    assert invoice.params["chat_id"] == "42"


def test_the_handlers_own_notice_is_the_answer(send, fake_api, customer, product):
    product.is_active = False
    product.save()

    calls = press_outside(send, fake_api, customer, callbacks.product(product.pk), "group")

    assert callback_answers(calls) == ["Sorry, this is no longer available."]
    assert "catalog is empty" in sent_to(fake_api, 42)[0].params["text"]


@pytest.mark.parametrize("where", WHERE)
def test_someone_the_bot_may_not_write_to_is_told_to_open_the_bot(send, fake_api, customer, owned, where):
    fake_api.fail_next("sendMessage", 403, "Forbidden: bot can't initiate conversation with a user")

    calls = press_outside(send, fake_api, customer, callbacks.purchases(), where)

    [answer] = [c for c in calls if c.method == "answerCallbackQuery"]
    assert answer.params["text"] == "To see this, open @shop_bot, press Start, then press the button again."
    assert answer.params["url"] == "https://t.me/shop_bot?start=menu"
    assert [c.status for c in fake_api.calls_of("sendMessage")] == [403]  # no apology sent anywhere
    assert User.objects.get(telegram_id=42).is_blocked is True


def test_the_start_link_of_the_answer_opens_the_main_menu(command):
    assert "What would you like to do?" in command("/start menu").params["text"]


def test_presses_in_the_private_chat_still_change_the_message_in_place(press_for_screen, owned):
    screen = press_for_screen(callbacks.purchases())

    assert "My purchases" in screen.params["text"]
