"""The fake Bot API refuses what Telegram refuses about chats, invite links, join requests, invoice links and
Stars subscriptions (so the bot's tests cannot pass on calls Telegram would reject)."""

import pytest
from telebot.apihelper import ApiTelegramException
from telebot.types import LabeledPrice

from botapp.telegram.client import new_client

CHAT = -1009


@pytest.fixture
def client(fake_api):
    return new_client()


def refusal(call) -> str:
    with pytest.raises(ApiTelegramException) as refused:
        call()
    assert refused.value.error_code == 400
    return refused.value.description


def invoice_link(client, *, currency="XTR", amount=100, period=2592000, provider_token=""):
    return client.create_invoice_link(
        "Club", "Monthly", "payload", provider_token, currency, [LabeledPrice("Club", amount)], subscription_period=period
    )


def test_subscription_invoice_links_follow_telegrams_terms(client):
    assert invoice_link(client).startswith("https://t.me/$")
    assert refusal(lambda: invoice_link(client, period=86400)) == "Bad Request: SUBSCRIPTION_PERIOD_INVALID"
    assert refusal(lambda: invoice_link(client, amount=10_001)) == "Bad Request: SUBSCRIPTION_PRICE_INVALID"
    assert "SUBSCRIPTION_CURRENCY_INVALID" in refusal(lambda: invoice_link(client, currency="RUB", provider_token="tok"))
    assert "STARS_INVOICE_INVALID" in refusal(lambda: invoice_link(client, provider_token="tok"))


def test_invite_links_need_the_right_to_invite_and_valid_limits(client, fake_api):
    fake_api.add_chat(CHAT)
    link = client.create_chat_invite_link(CHAT, member_limit=1, expire_date=2_000_000_000)
    assert link.member_limit == 1 and not link.creates_join_request
    assert "member limit can't be specified" in refusal(
        lambda: client.create_chat_invite_link(CHAT, member_limit=1, creates_join_request=True)
    )
    assert "wrong member limit" in refusal(lambda: client.create_chat_invite_link(CHAT, member_limit=100_000))
    fake_api.chats[CHAT].bot_rights["can_invite_users"] = False
    assert "not enough rights" in refusal(lambda: client.create_chat_invite_link(CHAT, creates_join_request=True))
    assert refusal(lambda: client.create_chat_invite_link(-1, creates_join_request=True)) == "Bad Request: chat not found"


def test_join_requests_are_settled_once(client, fake_api):
    fake_api.add_chat(CHAT)
    fake_api.join_request(CHAT, 42)
    assert client.approve_chat_join_request(CHAT, 42)
    assert fake_api.member_status(CHAT, 42) == "member"
    assert "HIDE_REQUESTER_MISSING" in refusal(lambda: client.decline_chat_join_request(CHAT, 42))


def test_ban_and_unban_need_the_right_to_restrict_and_spare_administrators(client, fake_api):
    chat = fake_api.add_chat(CHAT)
    chat.members |= {42: "member", 7: "administrator"}
    assert client.ban_chat_member(CHAT, 42) and fake_api.member_status(CHAT, 42) == "kicked"
    assert client.unban_chat_member(CHAT, 42, only_if_banned=True) and fake_api.member_status(CHAT, 42) == "left"
    assert "administrator" in refusal(lambda: client.ban_chat_member(CHAT, 7))
    chat.bot_rights["can_restrict_members"] = False
    assert "not enough rights" in refusal(lambda: client.ban_chat_member(CHAT, 42))


def test_the_bots_own_member_status_carries_its_rights(client, fake_api):
    fake_api.add_chat(CHAT, can_invite_users=False)
    member = client.get_chat_member(CHAT, client.get_me().id)
    assert member.status == "administrator" and not member.can_invite_users and member.can_restrict_members
    fake_api.add_chat(CHAT, bot_status=None)
    assert refusal(lambda: client.get_chat(CHAT)) == "Bad Request: chat not found"


def test_star_subscriptions_are_edited_only_for_their_payer(client, fake_api):
    fake_api.subscription_paid(42, "sub-1")
    assert client.edit_user_star_subscription(42, "sub-1", is_canceled=True)
    assert fake_api.star_subscriptions["sub-1"]["canceled"]
    assert "CHARGE_ID_INVALID" in refusal(lambda: client.edit_user_star_subscription(43, "sub-1", is_canceled=False))
    assert "CHARGE_ID_INVALID" in refusal(lambda: client.edit_user_star_subscription(42, "nope", is_canceled=False))
