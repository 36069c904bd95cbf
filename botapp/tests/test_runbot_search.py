"""Search and inline mode through a real `runbot` process and the fake Bot API, end to end: the poller asks
Telegram for inline queries, a customer searches by text and pages on, and someone in a group shares a product."""

import json

import pytest

from botapp.testing import updates
from botapp.testing.helpers import body, button_data, buttons, queue_press
from shop.testing.factories import ProductFactory


@pytest.mark.django_db(transaction=True)
def test_a_customer_searches_and_another_shares_a_product_inline(api, runbot):
    for n in range(10):
        ProductFactory(name=f"Ключ игры {n}", price=10 + n, hidden_content=f"SECRET-{n}")
    runbot()
    api.wait_for("setMyCommands", timeout=20)
    ann, bob = updates.tg_user(42, first_name="Ann"), updates.tg_user(43, first_name="Bob", language_code="ru")

    polled = api.wait_for("getUpdates")
    assert "inline_query" in json.loads(polled.params["allowed_updates"])

    mark = api.mark()
    api.push(updates.message(ann, "КЛЮЧ"))
    found = api.wait_for("sendMessage", lambda c: c.params["chat_id"] == "42", after=mark)
    assert "10 products found for «КЛЮЧ»" in body(found)
    page_two = api.wait_for("editMessageText", after=queue_press(api, ann, button_data(found, "Next")))
    assert [text for text, _data in buttons(page_two)][:2] == ["Ключ игры 8 · ⭐ 18", "Ключ игры 9 · ⭐ 19"]

    mark = api.mark()
    api.push(updates.inline_query(bob, "игры 3"))
    answer = api.wait_for("answerInlineQuery", after=mark)
    assert answer.status == 200
    (result,) = answer.json("results")
    assert result["title"] == "Ключ игры 3"
    assert "SECRET" not in json.dumps(answer.params)
