"""Promotions and reviews through a real `runbot` process and the fake Bot API, end to end (issue 12): Ann
invites Bob with her link, Bob buys with a promo code at the struck-through price and reviews the product, Ann
is sent her reward code and buys with it, and the product's card shows Bob's rating."""

import re

import pytest

from botapp import callbacks
from botapp.testing import updates
from botapp.testing.helpers import body, button_data, buttons, queue_press
from shop.models import Purchase
from shop.promotions.models import Referral, ReferralReward
from shop.testing.factories import ProductFactory
from shop.testing.promotions import PromoCodeFactory


def said_to(api, user, *, after: int, containing: str = "", timeout: float = 10):
    return api.wait_for(
        "sendMessage",
        lambda c: c.params["chat_id"] == str(user["id"]) and containing in c.params["text"],
        after=after,
        timeout=timeout,
    )


def send_text(api, user, text: str, *, containing: str = ""):
    mark = api.mark()
    api.push(updates.message(user, text))
    return said_to(api, user, after=mark, containing=containing)


def pay_from(api, user, card, *, buy_text: str, charge_id: str) -> tuple[int, str]:
    """Press the card's Buy button, pass pre-checkout and pay; the invoice's amount and what the buyer got."""
    mark = queue_press(api, user, button_data(card, buy_text))
    invoice = api.wait_for("sendInvoice", after=mark)
    total = invoice.json("prices")[0]["amount"]
    mark = api.mark()
    api.push(updates.pre_checkout(user, invoice.params["payload"], total_amount=total))
    assert api.wait_for("answerPreCheckoutQuery", after=mark).params["ok"] == "True"
    mark = api.mark()
    api.push(updates.successful_payment(user, invoice.params["payload"], total_amount=total, charge_id=charge_id))
    return total, body(said_to(api, user, after=mark, containing="Thank you"))


@pytest.mark.django_db(transaction=True)
def test_a_friend_invited_buys_with_a_code_and_the_referrer_gets_and_uses_a_reward(api, runbot):
    editor = ProductFactory(name="Editor Pro", price=50, hidden_content="EDITOR-KEY")
    course = ProductFactory(name="Course", price=200, hidden_content="COURSE-LINK")
    PromoCodeFactory(code="WELCOME20", value=20)
    runbot(
        env={
            "SHOP_REFERRAL_REWARD_PERCENT": "25",
            "SHOP_REFERRAL_REWARD_DAYS": "7",
            "TELEGRAM_BOT_USERNAME": "",
            "REVIEW_INVITATION_HOURS": "0",  # the invitation to review comes at once
        }
    )
    api.wait_for("setMyCommands", timeout=20)
    ann, bob = updates.tg_user(42, first_name="Ann"), updates.tg_user(43, first_name="Bob", username="bob")

    # Ann opens «Invite friends» and shares her link
    menu = send_text(api, ann, "/start", containing="Hello, Ann")
    mark = queue_press(api, ann, button_data(menu, "Invite friends"))
    invite = api.wait_for("editMessageText", after=mark)
    link = re.search(r"https://t\.me/shop_bot\?start=(r\S+)", body(invite))[1]
    assert "25% off, valid 7 days" in body(invite)

    # Bob starts the bot through it, then buys Editor Pro with a code typed on its card
    send_text(api, bob, f"/start {link}", containing="Hello, Bob")
    assert Referral.objects.get().referrer.telegram_id == 42
    card = send_text(api, bob, f"/start p{editor.pk}", containing="Editor Pro")
    mark = queue_press(api, bob, button_data(card, "Have a promo code?"))
    assert "Send your promo code" in body(api.wait_for("editMessageText", after=mark))
    card = send_text(api, bob, "welcome20", containing="applied")
    assert "<s>⭐ 50</s> ⭐ 40" in body(card)
    mark = api.mark()
    total, got = pay_from(api, bob, card, buy_text="Buy for ⭐ 40", charge_id="charge-bob")
    assert total == 40 and "EDITOR-KEY" in got

    # Bob is invited to review Editor Pro, rates it 5 ★ and writes a line
    invitation = said_to(api, bob, after=mark, containing="How do you like", timeout=20)
    rated = queue_press(api, bob, button_data(invitation, "5 ★"))
    assert "You rated <b>Editor Pro</b> ★★★★★" in body(api.wait_for("editMessageText", after=rated))
    assert "is saved" in body(send_text(api, bob, "Worth every star", containing="is saved"))

    # Ann is sent her personal code, already applied to her next purchase, and buys the course with it
    told = said_to(api, ann, after=mark, containing="first purchase", timeout=20)
    code = ReferralReward.objects.get().code.code
    assert f"<code>{code}</code>" in body(told) and "25% off" in body(told)
    card = send_text(api, ann, f"/start p{course.pk}", containing="Course")
    assert f"With code <b>{code}</b>: <s>⭐ 200</s> ⭐ 150" in body(card)
    total, got = pay_from(api, ann, card, buy_text="Buy for ⭐ 150", charge_id="charge-ann")
    assert total == 150 and "COURSE-LINK" in got

    bought = {(p.user.telegram_id, p.price, p.promo.list_price, p.promo.code.code) for p in Purchase.objects.all()}
    assert bought == {(43, 40, 50, "WELCOME20"), (42, 150, 200, code)}
    card = send_text(api, ann, f"/start p{editor.pk}", containing="Editor Pro")
    assert ("Buy for ⭐ 50", callbacks.buy(editor.pk)) in buttons(card)  # the reward is used up
    assert "★ 5.0 (1)" in body(card)  # Bob's review counts on the card
    assert len([c for c in api.calls if c.method == "sendMessage" and "first purchase" in c.params.get("text", "")]) == 1
