"""Reviews through a real `runbot` process and the fake Bot API, end to end: Ann buys, the bot's worker invites
her to rate (REVIEW_INVITATION_HOURS=0: at once), she taps 4 ★ and writes a line; Bob then opens the card, sees
"★ 4.0 (1)", and reads her review, escaped."""

import pytest

from botapp import callbacks
from botapp.testing import updates
from botapp.testing.helpers import body, button_data, buttons, queue_press
from shop.reviews.models import Review
from shop.testing.factories import ProductFactory


def from_bot_to(user):
    return lambda call: call.params["chat_id"] == str(user["id"])


def open_card(api, user, product):
    mark = api.mark()
    api.push(updates.message(user, f"/start p{product.pk}"))
    return api.wait_for("sendMessage", from_bot_to(user), after=mark)


@pytest.mark.django_db(transaction=True)
def test_a_buyer_reviews_and_another_customer_sees_the_rating(api, runbot):
    product = ProductFactory(name="Editor Pro", price=50, hidden_content="KEY-123")
    runbot(env={"REVIEW_INVITATION_HOURS": "0"})
    api.wait_for("setMyCommands", timeout=20)
    ann, bob = updates.tg_user(42, first_name="Ann"), updates.tg_user(43, first_name="Bob")

    card = open_card(api, ann, product)
    assert "★" not in body(card)
    mark = queue_press(api, ann, button_data(card, "Buy for"))
    invoice = api.wait_for("sendInvoice", after=mark)
    mark = api.mark()
    api.push(updates.pre_checkout(ann, invoice.params["payload"], total_amount=50))
    assert api.wait_for("answerPreCheckoutQuery", after=mark).params["ok"] == "True"
    mark = api.mark()
    api.push(updates.successful_payment(ann, invoice.params["payload"], total_amount=50, charge_id="charge-ann"))
    assert "KEY-123" in body(api.wait_for("sendMessage", from_bot_to(ann), after=mark))

    invitation = api.wait_for("sendMessage", lambda c: "How do you like" in body(c), after=mark, timeout=20)
    assert from_bot_to(ann)(invitation)
    assert buttons(invitation) == [(f"{n} ★", callbacks.rate_set(product.pk, n)) for n in range(1, 6)]
    mark = queue_press(api, ann, button_data(invitation, "4 ★"))
    assert "You rated <b>Editor Pro</b> ★★★★☆" in body(api.wait_for("editMessageText", after=mark))
    mark = api.mark()
    api.push(updates.message(ann, "Works <well> & fast"))
    assert "is saved" in body(api.wait_for("sendMessage", from_bot_to(ann), after=mark))
    assert Review.objects.get().text == "Works <well> & fast"

    card = open_card(api, bob, product)
    assert body(card).startswith("<b>Editor Pro</b>\n★ 4.0 (1)\n")
    assert "⭐ Rate this product" not in [text for text, _data in buttons(card)]  # Bob has not bought it
    mark = queue_press(api, bob, button_data(card, "Reviews (1)"))
    listing = body(api.wait_for("editMessageText", from_bot_to(bob), after=mark))
    assert "★★★★☆ Ann · " in listing and "Works &lt;well&gt; &amp; fast" in listing
