"""A chat's subscription through a real `runbot` process and the fake Bot API, end to end: subscribe (Telegram's
invoice link) → invite link → join request approved → renewal recorded → renewal cancelled → removed from the
chat when the paid period is over, by the background check (every second here), and told why."""

import time

import pytest

from botapp import callbacks
from botapp.testing import updates
from botapp.testing.access import invite_link, subscription_renewal, url_buttons
from botapp.testing.helpers import body, queue_press, wait_until
from shop.access.models import Membership
from shop.models import Purchase
from shop.testing.access import CHAT_ID, SubscriptionProductFactory


@pytest.mark.django_db(transaction=True)
def test_subscribe_join_renew_cancel_and_leave_when_the_paid_period_is_over(api, runbot):
    api.add_chat(CHAT_ID, "Private club")
    product = SubscriptionProductFactory(name="Club", price=300)
    runbot(env={"ADMIN_IDS": "777", "ACCESS_CHECK_SECONDS": "1"})
    api.wait_for("setMyCommands", timeout=20)
    ann = updates.tg_user(42, first_name="Ann")
    started = time.time()
    first_end, renewed_end = int(started) + 6, int(started) + 12  # short periods: Telegram's dates, as it sends them

    mark = queue_press(api, ann, callbacks.buy(product.pk))
    created = api.wait_for("createInvoiceLink", after=mark)
    offer = api.wait_for("sendMessage", lambda c: c.params["chat_id"] == "42", after=mark)
    assert created.params["subscription_period"] == "2592000"
    assert url_buttons(offer) == [("Pay ⭐ 300", created.result)]

    mark = api.mark()
    api.push(updates.pre_checkout(ann, created.params["payload"], total_amount=300))
    assert api.wait_for("answerPreCheckoutQuery", after=mark).params["ok"] == "True"
    mark = api.mark()
    api.push(subscription_renewal(api, ann, created.result, charge_id="sub-1", expires_at=first_end, first=True))
    welcome = api.wait_for("sendMessage", lambda c: c.params["chat_id"] == "42", after=mark, timeout=20)
    link = invite_link(welcome)
    assert "Your access to <b>Club</b> is ready" in body(welcome)

    mark = api.mark()
    api.push(updates.chat_join_request(ann, api.join_request(CHAT_ID, 42), invite_link=api.chats[CHAT_ID].links[link]))
    api.wait_for("approveChatJoinRequest", after=mark)
    assert api.member_status(CHAT_ID, 42) == "member"

    mark = api.mark()
    api.push(subscription_renewal(api, ann, created.result, charge_id="sub-2", expires_at=renewed_end))
    renewed = api.wait_for("sendMessage", lambda c: c.params["chat_id"] == "42", after=mark, timeout=20)
    assert "is renewed" in body(renewed)
    assert [(p.payment_id, p.price) for p in Purchase.objects.order_by("id")] == [("sub-1", 300), ("sub-2", 300)]

    mark = queue_press(api, ann, callbacks.access_cancel(product.pk), message_id=offer.result["message_id"])
    cancelled = api.wait_for("editUserStarSubscription", after=mark)
    assert (cancelled.params["telegram_payment_charge_id"], cancelled.params["is_canceled"]) == ("sub-1", "True")
    wait_until(lambda: not Membership.objects.get().renewing, timeout=10, what="the renewal to be cancelled")
    assert time.time() < first_end or not api.calls_of("banChatMember")  # nobody removed while paid

    banned = api.wait_for("banChatMember", timeout=30)
    assert time.time() >= renewed_end  # not before the end of what was paid
    assert banned.params["user_id"] == "42" and banned.params["chat_id"] == str(CHAT_ID)
    api.wait_for("unbanChatMember", timeout=10)
    told = api.wait_for("sendMessage", lambda c: c.params["chat_id"] == "42" and "not renewed" in c.params["text"], timeout=10)
    assert "you have left its chat" in body(told)
    assert api.member_status(CHAT_ID, 42) == "left"
    membership = Membership.objects.get()
    assert (membership.state, membership.end_reason) == ("ended", "not_renewed") and membership.removed_at is not None
