"""Chat access in the admin: the chat checked with Telegram at save (bot missing, rights missing, all fine),
Telegram's terms for subscriptions, and the members list with revoke and extend."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from backoffice.testing import messages_of
from shop.access.models import ChatAccess, Membership
from shop.access.selectors import membership_get
from shop.testing.access import CHAT_ID, ChannelProductFactory, SubscriptionProductFactory
from shop.testing.factories import ProductFactory, UserFactory
from shop.testing.payments import pay, payload_for

pytestmark = pytest.mark.django_db

ADD = reverse("admin:access_chataccess_add")
MEMBERS = reverse("admin:access_membership_changelist")


def save(admin_client, product, *, chat_id=CHAT_ID, mode="for_good"):
    data = {"product": product.pk, "chat_id": chat_id, "mode": mode, "entry": "join_request", "strangers": "decline"}
    return admin_client.post(ADD, data)


def errors(response) -> list[str]:
    form = response.context["adminform"].form
    return [message for messages in form.errors.values() for message in messages]


def test_a_chat_the_bot_is_not_in_is_refused_saying_so(admin_client, fake_api):
    product = ProductFactory(name="Signals")

    response = save(admin_client, product)

    assert response.status_code == 200
    (error,) = errors(response)
    assert "The bot cannot see this chat" in error and "add the bot to it as an administrator" in error
    assert not ChatAccess.objects.exists()


def test_missing_rights_are_named(admin_client, fake_api):
    fake_api.add_chat(CHAT_ID, can_restrict_members=False, can_invite_users=False)

    response = save(admin_client, ProductFactory())

    assert [e.split(":")[0] for e in errors(response)] == ["The bot may not invite users", "The bot may not ban users"]
    assert not ChatAccess.objects.exists()


def test_a_bot_that_is_only_a_member_is_told_to_be_made_an_administrator(admin_client, fake_api):
    fake_api.add_chat(CHAT_ID, bot_status="member")
    assert "not an administrator" in errors(save(admin_client, ProductFactory()))[0]


def test_a_chat_where_the_bot_has_what_it_needs_is_saved_with_its_title(admin_client, fake_api):
    fake_api.add_chat(CHAT_ID, "VIP signals")
    product = ProductFactory(price=500)

    response = save(admin_client, product, mode="subscription")

    assert response.status_code == 302
    access = ChatAccess.objects.get()
    assert (access.product, access.chat_title, access.mode, access.problem) == (product, "VIP signals", "subscription", "")
    assert [c.params["user_id"] for c in fake_api.calls_of("getChatMember")] == ["1"]  # the bot's own rights


def test_a_subscription_over_telegrams_limit_is_refused(admin_client, fake_api):
    fake_api.add_chat(CHAT_ID)
    response = save(admin_client, ProductFactory(price=10_001), mode="subscription")
    assert any("from 1 to 10000 Stars" in error for error in errors(response))


@pytest.fixture
def members(fake_api):
    fake_api.add_chat(CHAT_ID)
    product = SubscriptionProductFactory(name="Club", price=100)
    ann, bob = UserFactory(first_name="Ann"), UserFactory(first_name="Bob")
    end = timezone.now() + timedelta(days=20)
    for user in (ann, bob):
        pay(
            user,
            payload_for(user, product),
            total_amount=100,
            payment_id=f"sub-{user.pk}",
            subscription_expires_at=end,
        )
        fake_api.join(CHAT_ID, user.telegram_id)
        fake_api.subscription_paid(user.telegram_id, f"sub-{user.pk}")
    Membership.objects.filter(user=bob).update(renewing=False)
    return product, ann, bob, end


def test_the_members_list_shows_who_since_until_and_renewing(admin_client, members):
    product, _ann, _bob, _end = members

    response = admin_client.get(MEMBERS, {"product__id__exact": product.pk})

    assert response.status_code == 200
    rows = {m.user.first_name: m for m in response.context["cl"].result_list}
    assert set(rows) == {"Ann", "Bob"}
    assert rows["Ann"].renewing and not rows["Bob"].renewing
    page = response.content.decode()
    assert "Club" in page and "paid until" in page.lower()
    listing = admin_client.get(reverse("admin:access_chataccess_changelist"))
    assert f"?product__id__exact={product.pk}&amp;state__exact=active" in listing.content.decode()


def test_revoking_removes_the_member_from_the_chat_and_tells_them(admin_client, fake_api, members):
    product, ann, bob, _end = members
    membership = membership_get(telegram_id=ann.telegram_id, product_id=product.pk)

    response = admin_client.post(MEMBERS, {"action": "revoke", "_selected_action": [membership.pk]}, follow=True)

    assert ("info", "1 member's access revoked.") in messages_of(response)
    (cancelled,) = fake_api.calls_of("editUserStarSubscription")  # Telegram stops renewing it
    assert (cancelled.params["telegram_payment_charge_id"], cancelled.params["is_canceled"]) == (f"sub-{ann.pk}", "True")
    assert fake_api.member_status(CHAT_ID, ann.telegram_id) == "left"
    assert fake_api.member_status(CHAT_ID, bob.telegram_id) == "member"
    told = [c for c in fake_api.calls_of("sendMessage") if c.params["chat_id"] == str(ann.telegram_id)]
    assert len(told) == 1 and "Staff ended your access" in told[0].params["text"]
    membership.refresh_from_db()
    assert membership.end_reason == "revoked" and membership.removed_at is not None


def test_extending_by_hand_moves_the_paid_until_date(admin_client, members):
    product, ann, _bob, end = members
    membership = membership_get(telegram_id=ann.telegram_id, product_id=product.pk)

    response = admin_client.post(MEMBERS, {"action": "extend", "days": "10", "_selected_action": [membership.pk]}, follow=True)

    assert ("info", "1 member extended.") in messages_of(response)
    membership.refresh_from_db()
    assert membership.paid_until == end + timedelta(days=10)


def test_a_member_for_good_cannot_be_extended(admin_client, fake_api):
    fake_api.add_chat(CHAT_ID)
    product = ChannelProductFactory()
    ann = UserFactory()
    pay(ann, payload_for(ann, product), total_amount=product.price, payment_id="c-1")
    membership = membership_get(telegram_id=ann.telegram_id, product_id=product.pk)

    response = admin_client.post(MEMBERS, {"action": "extend", "days": "10", "_selected_action": [membership.pk]}, follow=True)

    assert any("for good already" in message for _level, message in messages_of(response))


def test_a_members_page_shows_each_payment_it_was_paid_by(admin_client, members):
    product, ann, _bob, _end = members
    membership = membership_get(telegram_id=ann.telegram_id, product_id=product.pk)

    response = admin_client.get(reverse("admin:access_membership_change", args=[membership.pk]))

    assert response.status_code == 200
    assert f"sub-{ann.pk}" in response.content.decode() and "100 XTR" in response.content.decode()
