"""Support through a real `runbot` process and the fake Bot API: the customer writes, staff receive, staff
reply, the customer receives."""

import signal

import pytest
from django.utils import timezone

from botapp.testing import updates
from botapp.testing.helpers import button_data, queue_press
from shop.support.models import SupportMessage
from shop.testing.factories import ProductFactory, PurchaseFactory, UserFactory


@pytest.mark.django_db(transaction=True)
def test_customer_and_staff_talk_through_runbot(api, runbot):
    ann_bought = ProductFactory(name="Editor Pro", price=50)
    PurchaseFactory(user=UserFactory(telegram_id=42, username="ann"), product=ann_bought, delivered_at=timezone.now())
    bot = runbot(env={"ADMIN_IDS": "777"})
    api.wait_for("setMyCommands", timeout=20)
    ann = updates.tg_user(42, first_name="Ann", username="ann")
    kim = updates.tg_user(777, first_name="Kim", username="kim")

    # The customer asks for payment support and presses «Write to support»
    mark = api.mark()
    api.push(updates.message(ann, "/paysupport"))
    paysupport = api.wait_for("sendMessage", lambda c: c.params["chat_id"] == "42", after=mark)
    prompt = api.wait_for("editMessageText", after=queue_press(api, ann, button_data(paysupport, "Write to support")))
    assert "Send your question in one message" in prompt.params["text"]

    # ... and writes: the staff member gets who wrote, what they bought, and the message itself
    mark = api.mark()
    question = api.push(updates.message(ann, "I paid but the key does not work"))
    header = api.wait_for("sendMessage", lambda c: c.params["chat_id"] == "777", after=mark)
    assert "@ann" in header.params["text"] and "Editor Pro — ⭐ 50" in header.params["text"]
    copy = api.wait_for("copyMessage", lambda c: c.params["chat_id"] == "777", after=mark)
    assert copy.params["message_id"] == str(question["message"]["message_id"])
    done = api.wait_for("sendMessage", lambda c: c.params["chat_id"] == "42", after=mark)
    assert done.params["text"].startswith("✅ Sent to support.")
    assert api.message(777, copy.result["message_id"])["text"] == "I paid but the key does not work"

    # The staff member replies to it in their chat with the bot: the customer gets the answer
    mark = api.mark()
    api.push(updates.reply(kim, "Sorry! Here is a new key: NEW-KEY-2", copy.result["message_id"]))
    answer = api.wait_for("copyMessage", lambda c: c.params["chat_id"] == "42", after=mark)
    confirmation = api.wait_for("sendMessage", lambda c: c.params["chat_id"] == "777", after=mark)
    assert confirmation.params["text"] == "✅ Sent to @ann."
    received = api.message(42, answer.result["message_id"])
    assert received["text"] == "Sorry! Here is a new key: NEW-KEY-2"

    code, _ = bot.stop(signal.SIGTERM)
    assert code == 0, bot.output()
    assert list(SupportMessage.objects.order_by("id").values_list("direction", "text")) == [
        ("in", "I paid but the key does not work"),
        ("out", "Sorry! Here is a new key: NEW-KEY-2"),
    ]
