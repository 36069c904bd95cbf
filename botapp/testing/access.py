"""Test support for chat access (shop.access): reading the invite link and the subscription's invoice link the
bot sent, and paying that link as Telegram does (its first payment, then renewals)."""

import json

from botapp.testing import updates
from botapp.testing.fake_bot_api import Call, FakeBotAPI


def url_buttons(call: Call) -> list[tuple[str, str]]:
    """The (text, url) of the link buttons under a message."""
    markup = call.json("reply_markup") or {"inline_keyboard": []}
    return [(b["text"], b["url"]) for row in markup["inline_keyboard"] for b in row if "url" in b]


def invite_link(call: Call) -> str:
    """The invite link of the one Join button under a message."""
    (link,) = [url for text, url in url_buttons(call) if "Join" in text]
    return link


def subscription_renewal(api: FakeBotAPI, user: dict, link: str, *, charge_id: str, expires_at: int, first: bool = False) -> dict:
    """Telegram's successful_payment for the subscription behind invoice `link` (`first`: the one the user made;
    otherwise a renewal Telegram made by itself). The fake then knows the charge (editUserStarSubscription)."""
    invoice = api.invoice_links[link]
    api.subscription_paid(user["id"], charge_id)
    return updates.subscription_payment(
        user,
        invoice["payload"],
        total_amount=json.loads(invoice["prices"])[0]["amount"],
        charge_id=charge_id,
        expires_at=expires_at,
        first=first,
    )
