"""Selling from stock through a real `runbot` process and the fake Bot API, end to end: 3 units of 5 to one
buyer, the last 2 to another, a third sees Sold out, asks to be told, and is told once stock is added."""

import pytest

from botapp import callbacks
from botapp.testing import updates
from botapp.testing.helpers import body, button_data, buttons, queue_press
from shop.models import Purchase
from shop.stock.models import StockUnit
from shop.stock.services import lines_from_text, stock_add
from shop.testing.factories import StockProductFactory, stocked


def buy(api, user, card, quantity: int, charge_id: str) -> str:
    """From a card showing quantity 1: press "more" up to `quantity`, Buy, pass pre-checkout and pay; returns
    the text the buyer received."""
    for _more in range(quantity - 1):
        mark = queue_press(api, user, button_data(card, "➕"))
        card = api.wait_for("editMessageText", after=mark)
    mark = queue_press(api, user, button_data(card, f"Buy {quantity} for" if quantity > 1 else "Buy for"))
    invoice = api.wait_for("sendInvoice", after=mark)
    total = invoice.json("prices")[0]["amount"]
    mark = api.mark()
    api.push(updates.pre_checkout(user, invoice.params["payload"], total_amount=total))
    assert api.wait_for("answerPreCheckoutQuery", after=mark).params["ok"] == "True"
    mark = api.mark()
    api.push(updates.successful_payment(user, invoice.params["payload"], total_amount=total, charge_id=charge_id))
    delivery = api.wait_for("sendMessage", lambda c: c.params["chat_id"] == str(user["id"]), after=mark)
    return body(delivery)


def open_card(api, user, product) -> object:
    mark = api.mark()
    api.push(updates.message(user, f"/start p{product.pk}"))
    return api.wait_for("sendMessage", lambda c: c.params["chat_id"] == str(user["id"]), after=mark)


@pytest.mark.django_db(transaction=True)
def test_stock_sells_out_to_two_buyers_and_a_third_is_told_when_it_is_back(api, runbot):
    product = StockProductFactory(name="Game key", price=10, max_per_order=5)
    stocked(product, 5)
    runbot(env={"ADMIN_IDS": "777"})
    api.wait_for("setMyCommands", timeout=20)
    ann, bob, carol = (updates.tg_user(n, first_name=name) for n, name in ((42, "Ann"), (43, "Bob"), (44, "Carol")))

    card = open_card(api, ann, product)
    assert "In stock: 5" in body(card)
    ann_got = buy(api, ann, card, 3, "charge-ann")

    card = open_card(api, bob, product)
    assert "In stock: 2" in body(card)
    bob_got = buy(api, bob, card, 2, "charge-bob")

    ann_keys = {f"KEY-{n}" for n in range(1, 6) if f"<code>KEY-{n}</code>" in ann_got}
    bob_keys = {f"KEY-{n}" for n in range(1, 6) if f"<code>KEY-{n}</code>" in bob_got}
    assert len(ann_keys) == 3 and len(bob_keys) == 2 and not ann_keys & bob_keys
    assert [(p.quantity, p.price) for p in Purchase.objects.order_by("id")] == [(3, 30), (2, 20)]
    assert not StockUnit.objects.filter(purchase__isnull=True).exists()
    api.wait_for("sendMessage", lambda c: c.params["chat_id"] == "777" and "out of stock" in c.params["text"])

    card = open_card(api, carol, product)
    assert "Sold out" in body(card)
    assert buttons(card)[0] == ("🔔 Notify me when it is back", callbacks.notify(product.pk))
    mark = queue_press(api, carol, callbacks.notify(product.pk))
    assert "we will message you" in api.wait_for("answerCallbackQuery", after=mark).params["text"]

    mark = api.mark()
    stock_add(product=product, lines=lines_from_text("NEW-1\nNEW-2"))  # staff add stock in the admin
    told = api.wait_for("sendMessage", lambda c: c.params["chat_id"] == "44", after=mark, timeout=20)
    assert "Back in stock: <b>Game key</b>" in body(told)
    assert buttons(told) == [("🛍 View", callbacks.product(product.pk))]
    card = open_card(api, carol, product)
    carol_got = buy(api, carol, card, 1, "charge-carol")
    assert "<code>NEW-1</code>" in carol_got
    assert len([c for c in api.calls if c.method == "sendMessage" and "Back in stock" in c.params.get("text", "")]) == 1
