"""Selling access to a chat through the bot: the invite link after payment, join requests (buyers approved,
strangers declined or left for staff), subscriptions through Telegram's invoice link, renewals, cancel and
resume, a new invite link, and the periodic check that removes those whose access ended.

Updates go through botapp.dispatch.process_update to a real TeleBot talking HTTP to the fake Bot API.
"""

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from botapp import callbacks
from botapp.access_tasks import access_check, access_check_task
from botapp.bot import create_bot
from botapp.recovery import recover
from botapp.testing import updates
from botapp.testing.access import invite_link, subscription_renewal, url_buttons
from botapp.testing.helpers import body, buttons, callback_answers, sent_to
from shop.access.models import ChatAccess, Membership
from shop.access.selectors import membership_get
from shop.models import Purchase
from shop.testing.access import CHAT_ID, ChannelProductFactory, SubscriptionProductFactory

pytestmark = pytest.mark.django_db

STAFF = 777


@pytest.fixture(autouse=True)
def shop_settings(settings):
    settings.SHOP_CURRENCY = "XTR"
    settings.PAYMENT_PROVIDER_TOKEN = ""
    settings.ADMIN_IDS = [STAFF]


@pytest.fixture
def chat(fake_api):
    return fake_api.add_chat(CHAT_ID, "Private club")


@pytest.fixture
def stranger():
    return updates.tg_user(99, first_name="Eve", username="eve")


def buy_for_good(send, fake_api, press, user, product) -> list:
    """Buy, pass pre-checkout, pay: the calls made in answer to the payment."""
    (invoice,) = [c for c in press(callbacks.buy(product.pk), user=user) if c.method == "sendInvoice"]
    send(updates.pre_checkout(user, invoice.params["payload"], total_amount=invoice.json("prices")[0]["amount"]))
    mark = fake_api.mark()
    send(updates.successful_payment(user, invoice.params["payload"], total_amount=product.price, charge_id=f"c-{user['id']}"))
    return fake_api.calls[mark:]


def subscribe(send, fake_api, press, user, product, *, expires_at: int) -> tuple[str, list]:
    """Press Subscribe, pass pre-checkout and pay the invoice link's first payment: (the link, calls in answer)."""
    calls = press(callbacks.buy(product.pk), user=user)
    (created,) = [c for c in calls if c.method == "createInvoiceLink"]
    link = created.result
    send(updates.pre_checkout(user, created.params["payload"], total_amount=product.price))
    mark = fake_api.mark()
    send(subscription_renewal(fake_api, user, link, charge_id=f"sub-{user['id']}-1", expires_at=expires_at, first=True))
    return link, fake_api.calls[mark:]


def test_after_paying_the_buyer_gets_a_join_request_link_and_is_let_in_while_a_stranger_is_not(
    send, fake_api, press, customer, stranger, chat
):
    product = ChannelProductFactory(name="Signals", price=50)

    calls = buy_for_good(send, fake_api, press, customer, product)

    (created,) = [c for c in calls if c.method == "createChatInviteLink"]
    assert created.params["creates_join_request"] == "True" and "member_limit" not in created.params
    assert 0 < int(created.params["expire_date"]) - time.time() <= 24 * 3600
    (message,) = sent_to(fake_api, customer["id"], after=fake_api.calls.index(created), method="sendMessage")
    assert "Your access to <b>Signals</b> is ready" in body(message) and "Welcome to the club!" in body(message)
    link = invite_link(message)
    assert link == created.result["invite_link"]

    chat_of_link = fake_api.join_request(CHAT_ID, customer["id"])
    send(updates.chat_join_request(customer, chat_of_link, invite_link=created.result))
    chat_of_link = fake_api.join_request(CHAT_ID, stranger["id"])  # the link leaked
    send(updates.chat_join_request(stranger, chat_of_link, invite_link=created.result))

    assert [c.params["user_id"] for c in fake_api.calls_of("approveChatJoinRequest")] == [str(customer["id"])]
    assert [c.params["user_id"] for c in fake_api.calls_of("declineChatJoinRequest")] == [str(stranger["id"])]
    assert fake_api.member_status(CHAT_ID, customer["id"]) == "member"
    assert fake_api.member_status(CHAT_ID, stranger["id"]) == "left"
    assert membership_get(telegram_id=customer["id"], product_id=product.pk).joined_at is not None


def test_a_one_person_invite_link_when_the_chat_is_set_so(send, fake_api, press, customer, chat):
    product = ChannelProductFactory(access__entry=ChatAccess.Entry.INVITE_LINK)

    calls = buy_for_good(send, fake_api, press, customer, product)

    (created,) = [c for c in calls if c.method == "createChatInviteLink"]
    assert created.params["member_limit"] == "1" and "creates_join_request" not in created.params
    assert "lets one person in" in body(sent_to(fake_api, customer["id"], method="sendMessage")[-1])


def test_join_requests_of_strangers_can_be_left_for_staff(send, fake_api, stranger, chat):
    ChannelProductFactory(access__strangers=ChatAccess.Strangers.LEAVE)

    send(updates.chat_join_request(stranger, fake_api.join_request(CHAT_ID, stranger["id"])))

    assert not fake_api.calls_of("approveChatJoinRequest") and not fake_api.calls_of("declineChatJoinRequest")


def test_join_requests_to_chats_the_shop_does_not_sell_are_not_the_bots(send, fake_api, stranger):
    fake_api.add_chat(-100777, "Someone else's group")
    send(updates.chat_join_request(stranger, fake_api.join_request(-100777, stranger["id"])))
    assert not fake_api.calls_of("declineChatJoinRequest")


def test_a_subscription_is_sold_through_telegrams_invoice_link_and_renewals_are_recorded_once(
    send, fake_api, press, customer, chat
):
    product = SubscriptionProductFactory(name="Club", price=250)
    first_end = int((timezone.now() + timedelta(days=30)).timestamp())

    calls = press(callbacks.buy(product.pk))

    (created,) = [c for c in calls if c.method == "createInvoiceLink"]
    assert created.params["subscription_period"] == "2592000" and created.params["currency"] == "XTR"
    assert created.json("prices")[0]["amount"] == 250
    (offer,) = [c for c in calls if c.method == "sendMessage"]
    assert url_buttons(offer) == [("Pay ⭐ 250", created.result)]
    assert not [c for c in calls if c.method == "sendInvoice"]

    send(updates.pre_checkout(customer, created.params["payload"], total_amount=250))
    assert fake_api.calls_of("answerPreCheckoutQuery")[-1].params["ok"] == "True"
    send(subscription_renewal(fake_api, customer, created.result, charge_id="sub-1", expires_at=first_end, first=True))
    assert fake_api.calls_of("createChatInviteLink")
    fake_api.join(CHAT_ID, customer["id"])

    mark = fake_api.mark()
    renewal = subscription_renewal(fake_api, customer, created.result, charge_id="sub-2", expires_at=first_end + 2592000)
    send(renewal)
    send(renewal)  # Telegram sends it again

    assert [p.payment_id for p in Purchase.objects.order_by("id")] == ["sub-1", "sub-2"]
    told = sent_to(fake_api, customer["id"], after=mark, method="sendMessage")
    assert len(told) == 1 and "is renewed: active until" in body(told[0])
    assert not fake_api.calls_of("createChatInviteLink")[1:]  # a renewal needs no new link
    staff_notices = sent_to(fake_api, STAFF, after=mark, method="sendMessage")
    assert len(staff_notices) == 1 and "⭐ 250" in body(staff_notices[0])  # staff see each renewal, once
    membership = membership_get(telegram_id=customer["id"], product_id=product.pk)
    assert membership.paid_until.timestamp() == first_end + 2592000


def test_a_subscription_over_telegrams_limit_is_not_offered(send, fake_api, press, customer, chat):
    product = SubscriptionProductFactory(price=10_001)
    calls = press(callbacks.buy(product.pk))
    assert not fake_api.calls_of("createInvoiceLink")
    assert "10000" in callback_answers(calls)[0]


def test_cancel_and_resume_renewal_from_the_card(send, fake_api, press, press_for_screen, customer, chat):
    product = SubscriptionProductFactory(name="Club")
    subscribe(send, fake_api, press, customer, product, expires_at=int((timezone.now() + timedelta(days=30)).timestamp()))
    card = press_for_screen(callbacks.product(product.pk, callbacks.Back("purchases")))
    assert "Active: renews on" in body(card)

    screen = press_for_screen(callbacks.access_cancel(product.pk))

    (edit,) = fake_api.calls_of("editUserStarSubscription")
    assert (edit.params["telegram_payment_charge_id"], edit.params["is_canceled"]) == (f"sub-{customer['id']}-1", "True")
    assert fake_api.star_subscriptions[f"sub-{customer['id']}-1"]["canceled"]
    assert "Active until" in body(screen)
    assert ("Resume renewal", callbacks.access_resume(product.pk)) in buttons(screen)
    assert not membership_get(telegram_id=customer["id"], product_id=product.pk).renewing

    screen = press_for_screen(callbacks.access_resume(product.pk))
    assert fake_api.calls_of("editUserStarSubscription")[-1].params["is_canceled"] == "False"
    assert ("Cancel renewal", callbacks.access_cancel(product.pk)) in buttons(screen)
    assert membership_get(telegram_id=customer["id"], product_id=product.pk).renewing


def test_a_new_invite_link_but_never_to_someone_in_the_chat(send, fake_api, press, customer, chat):
    product = ChannelProductFactory()
    buy_for_good(send, fake_api, press, customer, product)

    calls = press(callbacks.access_link(product.pk))
    assert [c.method for c in calls if c.method == "createChatInviteLink"] == ["createChatInviteLink"]
    assert invite_link([c for c in calls if c.method == "sendMessage"][-1])

    fake_api.join(CHAT_ID, customer["id"])
    calls = press(callbacks.access_link(product.pk))
    assert not [c for c in calls if c.method == "createChatInviteLink"]
    assert "in the chat" in callback_answers(calls)[0] and "already" in callback_answers(calls)[0]


def test_a_stranger_gets_no_invite_link(fake_api, press, stranger, chat):
    product = ChannelProductFactory()
    calls = press(callbacks.access_link(product.pk), user=stranger)
    assert not [c for c in calls if c.method == "createChatInviteLink"]
    assert "ended" in callback_answers(calls)[0]


def test_the_bot_without_the_right_to_invite_alerts_staff_and_tells_the_buyer(send, fake_api, press, customer):
    fake_api.add_chat(CHAT_ID, can_invite_users=False)
    product = ChannelProductFactory()

    buy_for_good(send, fake_api, press, customer, product)

    assert "staff have been told" in body(sent_to(fake_api, customer["id"], method="sendMessage")[-1])
    alerts = [body(c) for c in sent_to(fake_api, STAFF, method="sendMessage") if "Could not deliver" in body(c)]
    assert len(alerts) == 1 and "not enough rights" in alerts[0]
    purchase = Purchase.objects.get()
    assert purchase.delivered_at is None and purchase.delivery_error.startswith("400")


def test_after_a_cancelled_subscription_ends_the_member_is_removed_and_told(send, fake_api, press, customer, chat):
    product = SubscriptionProductFactory(name="Club")
    end = timezone.now() + timedelta(days=30)
    subscribe(send, fake_api, press, customer, product, expires_at=int(end.timestamp()))
    fake_api.join(CHAT_ID, customer["id"])
    press(callbacks.access_cancel(product.pk))
    bot = create_bot()

    assert access_check(bot, now=end - timedelta(seconds=1)).removed == 0
    assert fake_api.member_status(CHAT_ID, customer["id"]) == "member"

    mark = fake_api.mark()
    check = access_check(bot, now=end + timedelta(seconds=1))

    assert (check.ended, check.removed) == (1, 1)
    assert [c.method for c in fake_api.calls[mark:] if c.method.endswith("ChatMember")] == ["banChatMember", "unbanChatMember"]
    assert fake_api.member_status(CHAT_ID, customer["id"]) == "left"  # out, and free to come back by paying again
    (told,) = sent_to(fake_api, customer["id"], after=mark, method="sendMessage")
    assert "was not renewed" in body(told)
    assert access_check(bot, now=end + timedelta(minutes=5)) == type(check)(0, 0)  # once


def test_a_refund_removes_the_member(send, fake_api, press, customer, chat):
    product = ChannelProductFactory(name="Signals")
    buy_for_good(send, fake_api, press, customer, product)
    fake_api.join(CHAT_ID, customer["id"])

    send(updates.refunded_payment(customer, total_amount=50, charge_id=f"c-{customer['id']}"))
    access_check(create_bot())

    assert fake_api.member_status(CHAT_ID, customer["id"]) == "left"
    assert "was refunded, so you have left" in body(sent_to(fake_api, customer["id"], method="sendMessage")[-1])


def test_a_chat_the_bot_lost_alerts_staff_once_and_customers_are_still_told(send, fake_api, press, customer, stranger, chat):
    product = ChannelProductFactory(name="Signals")
    for user in (customer, stranger):
        buy_for_good(send, fake_api, press, user, product)
        Membership.objects.filter(user__telegram_id=user["id"]).update(
            state=Membership.State.ENDED, end_reason="revoked", ended_at=timezone.now()
        )
    chat.bot_status = None  # the chat was deleted, or the bot removed from it

    access_check(create_bot())

    alerts = [body(c) for c in sent_to(fake_api, STAFF, method="sendMessage") if "Chat access of Signals" in body(c)]
    assert len(alerts) == 1 and "chat not found" in alerts[0]
    for user in (customer, stranger):
        assert "Staff ended your access" in body(sent_to(fake_api, user["id"], method="sendMessage")[-1])
    assert set(Membership.objects.values_list("removal_error", flat=True)) == {"400 Bad Request: chat not found"}


def test_the_periodic_check_queues_its_next_run(fake_api, run_due_tasks, settings):
    settings.ACCESS_CHECK_SECONDS = 60
    access_check_task.enqueue()

    assert run_due_tasks() == 1

    later = DBTaskResult.objects.filter(task_path=access_check_task.module_path, status="READY").get()
    assert later.run_after > timezone.now() + timedelta(seconds=50)


def test_my_purchases_shows_each_access_with_its_state_once(send, fake_api, press, press_for_screen, customer, chat):
    club = SubscriptionProductFactory(name="Club")
    signals = ChannelProductFactory(name="Signals")
    end = timezone.now() + timedelta(days=30)
    link, _calls = subscribe(send, fake_api, press, customer, club, expires_at=int(end.timestamp()))
    renewed_end = int((end + timedelta(days=30)).timestamp())
    send(subscription_renewal(fake_api, customer, link, charge_id="sub-2", expires_at=renewed_end))
    buy_for_good(send, fake_api, press, customer, signals)

    labels = [text for text, _data in buttons(press_for_screen(callbacks.purchases()))]
    renews = (end + timedelta(days=30)).astimezone(timezone.get_current_timezone())
    assert labels[:2] == ["Signals · for good", f"Club · renews {renews.day} {renews:%b} {renews.year}"]

    press(callbacks.access_cancel(club.pk))
    labels = [text for text, _data in buttons(press_for_screen(callbacks.purchases()))]
    assert labels[1].startswith("Club · until ")

    Membership.objects.filter(product=club).update(state="ended", ended_at=timezone.now())
    labels = [text for text, _data in buttons(press_for_screen(callbacks.purchases()))]
    assert labels[1] == "Club · ended"


def test_an_unused_one_person_link_is_revoked_when_access_ends(send, fake_api, press, customer, chat):
    product = ChannelProductFactory(access__entry=ChatAccess.Entry.INVITE_LINK)
    calls = buy_for_good(send, fake_api, press, customer, product)
    (created,) = [c for c in calls if c.method == "createChatInviteLink"]

    send(updates.refunded_payment(customer, total_amount=50, charge_id=f"c-{customer['id']}"))
    access_check(create_bot())

    assert chat.links[created.result["invite_link"]]["is_revoked"]


def test_nobody_is_removed_who_paid_for_the_same_chat_through_another_product(send, fake_api, press, customer, chat):
    monthly, lifetime = SubscriptionProductFactory(name="Monthly"), ChannelProductFactory(name="Lifetime")
    end = timezone.now() + timedelta(days=30)
    subscribe(send, fake_api, press, customer, monthly, expires_at=int(end.timestamp()))
    buy_for_good(send, fake_api, press, customer, lifetime)
    fake_api.join(CHAT_ID, customer["id"])
    press(callbacks.access_cancel(monthly.pk))

    mark = fake_api.mark()
    check = access_check(create_bot(), now=end + timedelta(seconds=1))

    assert check.ended == 1 and not fake_api.calls_of("banChatMember")
    assert fake_api.member_status(CHAT_ID, customer["id"]) == "member"
    assert not sent_to(fake_api, customer["id"], after=mark)  # nothing to tell: they stay


def test_a_renewal_arriving_after_the_member_was_removed_brings_a_new_link(send, fake_api, press, customer, chat):
    product = SubscriptionProductFactory(name="Club")
    end = timezone.now() + timedelta(days=30)
    link, _calls = subscribe(send, fake_api, press, customer, product, expires_at=int(end.timestamp()))
    access_check(create_bot(), now=end + timedelta(hours=2))  # the renewal is late: removed
    assert membership_get(telegram_id=customer["id"], product_id=product.pk).state == "ended"

    mark = fake_api.mark()
    later = int((end + timedelta(days=30)).timestamp())
    send(subscription_renewal(fake_api, customer, link, charge_id="sub-2", expires_at=later))

    (message,) = sent_to(fake_api, customer["id"], after=mark, method="sendMessage")
    assert "is renewed" in body(message) and invite_link(message)
    assert membership_get(telegram_id=customer["id"], product_id=product.pk).state == "active"


def test_recovery_keeps_one_access_check_queued(fake_api):
    recover()
    recover()  # at every start and every sweep: still one chain

    queued = DBTaskResult.objects.filter(task_path=access_check_task.module_path, status="READY")
    assert queued.count() == 1


def test_a_buyer_the_bot_cannot_let_in_is_told_and_staff_alerted_once(send, fake_api, press, customer, chat):
    product = ChannelProductFactory(name="Signals")
    buy_for_good(send, fake_api, press, customer, product)
    chat.bot_rights["can_invite_users"] = False  # someone took the bot's right away

    for _attempt in range(2):
        send(updates.chat_join_request(customer, fake_api.join_request(CHAT_ID, customer["id"])))

    assert fake_api.member_status(CHAT_ID, customer["id"]) == "left"
    told = sent_to(fake_api, customer["id"], method="sendMessage", containing="Staff have been told")
    assert len(told) == 2
    alerts = sent_to(fake_api, STAFF, method="sendMessage", containing="Chat access of Signals")
    assert len(alerts) == 1 and "not enough rights" in body(alerts[0])


def live_one_person_links(chat) -> list[str]:
    return [url for url, link in chat.links.items() if link.get("member_limit") == 1 and not link["is_revoked"]]


def test_one_purchase_keeps_one_live_one_person_link_however_often_a_new_one_is_asked_for(send, fake_api, press, customer, chat):
    product = ChannelProductFactory(access__entry=ChatAccess.Entry.INVITE_LINK)
    buy_for_good(send, fake_api, press, customer, product)
    (first,) = live_one_person_links(chat)

    links = set()
    for _ in range(5):  # the buyer stays out of the chat and asks again and again: no link for each friend
        calls = press(callbacks.access_link(product.pk))
        links.add(invite_link([c for c in calls if c.method == "sendMessage"][-1]))
    assert links == {first}
    assert live_one_person_links(chat) == [first]

    # later (past the cooldown) a new link: the one before stops working before it is made
    Membership.objects.update(invite_link_at=timezone.now() - timedelta(minutes=11))
    calls = press(callbacks.access_link(product.pk))
    second = invite_link([c for c in calls if c.method == "sendMessage"][-1])
    methods = [c.method for c in calls]
    assert second != first and methods.index("revokeChatInviteLink") < methods.index("createChatInviteLink")
    assert chat.links[first]["is_revoked"]
    assert live_one_person_links(chat) == [second]

    # a refund ends the access: the live link is the one revoked
    send(updates.refunded_payment(customer, total_amount=50, charge_id=f"c-{customer['id']}"))
    access_check(create_bot())
    assert live_one_person_links(chat) == []


def test_an_applied_promo_code_is_not_used_for_chat_access_and_stays_for_another_product(
    send, fake_api, press, command, customer, chat
):
    from shop.promotions.models import AppliedPromoCode
    from shop.testing.promotions import PromoCodeFactory

    PromoCodeFactory(code="SAVE10", value=10)
    command("/start csave10")
    product = ChannelProductFactory(price=50)

    (card,) = [c for c in press(callbacks.product(product.pk)) if c.method == "editMessageText"]
    assert "⭐ 50" in body(card) and "<s>" not in body(card)  # the card's price, without the code
    (invoice,) = [c for c in press(callbacks.buy(product.pk)) if c.method == "sendInvoice"]
    assert invoice.json("prices")[0]["amount"] == 50  # the invoice's price is the card's
    assert AppliedPromoCode.objects.filter(code__code="SAVE10").exists()  # still there for the next product

    monthly = SubscriptionProductFactory(price=50)
    (link,) = [c for c in press(callbacks.buy(monthly.pk)) if c.method == "createInvoiceLink"]
    assert link.json("prices")[0]["amount"] == 50


def test_the_card_of_chat_access_shows_its_rating_and_reviews_and_rate_for_a_member(
    send, fake_api, press, press_for_screen, customer, chat
):
    from shop.reviews.services import review_rate
    from shop.testing.factories import PurchaseFactory, UserFactory

    product = ChannelProductFactory(name="Club", price=50)
    for rating in (5, 4):
        buyer = UserFactory()
        PurchaseFactory(user=buyer, product=product)
        review_rate(telegram_id=buyer.telegram_id, product_id=product.pk, rating=rating)

    card = press_for_screen(callbacks.product(product.pk))
    assert body(card).startswith("<b>Club</b>\n★ 4.5 (2)\n")
    assert buttons(card) == [
        ("Buy for ⭐ 50", callbacks.buy(product.pk)),
        ("💬 Reviews (2)", callbacks.reviews(product.pk)),
        ("« Back", callbacks.catalog()),
    ]

    buy_for_good(send, fake_api, press, customer, product)
    card = press_for_screen(callbacks.product(product.pk))
    assert [text for text, _data in buttons(card)] == ["🔗 New invite link", "💬 Reviews (2)", "⭐ Rate this product", "« Back"]


def test_a_member_removed_and_let_back_by_staff_gets_a_new_live_link_not_the_revoked_one(send, fake_api, press, customer, chat):
    from shop.access.services import membership_extend, membership_revoke

    product = ChannelProductFactory(access__entry=ChatAccess.Entry.INVITE_LINK)
    buy_for_good(send, fake_api, press, customer, product)
    (first,) = live_one_person_links(chat)
    membership = membership_get(telegram_id=customer["id"], product_id=product.pk)
    membership_revoke(membership=membership)
    access_check(create_bot())  # removed at once: the link revoked
    assert live_one_person_links(chat) == []

    membership_extend(membership=membership, days=7)  # staff let them back, within minutes
    calls = press(callbacks.access_link(product.pk))
    link = invite_link([c for c in calls if c.method == "sendMessage"][-1])
    assert link != first and live_one_person_links(chat) == [link]
