"""Building Telegram updates as the Bot API sends them (JSON dicts), for tests and benchmarks."""

import itertools
import time

from botapp.testing.fake_bot_api import BOT_USER
from shop.invoices import InvoiceTerms, invoice_payload

_update_ids = itertools.count(1)
_message_ids = itertools.count(1000)


def next_update_id() -> int:
    """A fresh update id, higher than every one handed out before (as Telegram numbers updates)."""
    return next(_update_ids)


def tg_user(user_id: int = 42, *, first_name="Ann", last_name=None, username="ann", language_code="en") -> dict:
    user = {"id": user_id, "is_bot": False, "first_name": first_name}
    if last_name:
        user["last_name"] = last_name
    if username:
        user["username"] = username
    if language_code:
        user["language_code"] = language_code
    return user


def private_chat(user: dict) -> dict:
    chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
    if user.get("username"):
        chat["username"] = user["username"]
    return chat


def message(user: dict, text: str | None = None, *, chat: dict | None = None, update_id=None, **extra) -> dict:
    msg = {
        "message_id": next(_message_ids),
        "from": user,
        "chat": chat or private_chat(user),
        "date": int(time.time()),
        **extra,
    }
    if text is not None:
        msg["text"] = text
        if text.startswith("/"):
            command = text.split()[0]
            msg["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return {"update_id": update_id or next(_update_ids), "message": msg}


def callback(
    user: dict,
    data: str,
    *,
    message_id: int = 1,
    update_id=None,
    with_message=True,
    chat: dict | None = None,
    inline_message_id: str | None = None,
) -> dict:
    """A press of a button under the bot's message `message_id` in `user`'s private chat (or in `chat`); or,
    with `inline_message_id`, on an inline message (which comes without a message)."""
    query = {"id": str(next(_update_ids) * 7919), "from": user, "chat_instance": "ci", "data": data}
    if inline_message_id is not None:
        query["inline_message_id"] = inline_message_id
    elif with_message:
        query["message"] = {
            "message_id": message_id,
            "from": dict(BOT_USER),
            "chat": chat or private_chat(user),
            "date": int(time.time()),
            "text": "…",
        }
    return {"update_id": update_id or next(_update_ids), "callback_query": query}


def inline_query(user: dict, query: str = "", *, offset: str = "", chat_type: str | None = "group", update_id=None) -> dict:
    """`user` typed `@bot query` in a chat (of `chat_type`; None: Telegram could not tell)."""
    inline = {"id": str(next(_update_ids) * 104729), "from": user, "query": query, "offset": offset}
    if chat_type is not None:
        inline["chat_type"] = chat_type
    return {"update_id": update_id or next(_update_ids), "inline_query": inline}


def reply(user: dict, text: str | None, to_message_id: int, *, update_id=None, **extra) -> dict:
    """`user` replies (Telegram's reply) to the bot's message `to_message_id` in their private chat."""
    replied = {
        "message_id": to_message_id,
        "from": dict(BOT_USER),
        "chat": private_chat(user),
        "date": int(time.time()),
        "text": "…",
    }
    return message(user, text, update_id=update_id, reply_to_message=replied, **extra)


def media(user: dict, kind: str, file_id: str = "FILE-1", *, caption: str | None = None, update_id=None, **extra) -> dict:
    """A photo, video, audio, voice message, animation or document from `user` (`kind` as Telegram names it)."""
    item = {"file_id": file_id, "file_unique_id": f"u-{file_id}"}
    content = {
        "photo": [{**item, "file_id": f"{file_id}-small", "width": 90, "height": 90}, {**item, "width": 1280, "height": 960}],
        "video": {**item, "width": 640, "height": 360, "duration": 5},
        "audio": {**item, "duration": 120},
        "voice": {**item, "duration": 3},
        "animation": {**item, "width": 320, "height": 240, "duration": 2},
        "document": {**item, "file_name": "manual.pdf"},
    }[kind]
    if kind == "animation":  # Telegram sends an animation as a document too
        extra["document"] = {**item, "file_name": "funny.gif.mp4"}
    if caption is not None:
        extra["caption"] = caption
    return message(user, update_id=update_id, **{kind: content}, **extra)


def my_chat_member(user: dict, status: str, *, old_status: str = "member", update_id=None) -> dict:
    """The user blocked (status "kicked") or unblocked ("member") the bot in their private chat."""

    def member(status: str) -> dict:
        return {"user": dict(BOT_USER), "status": status, **({"until_date": 0} if status == "kicked" else {})}  # 0: for good

    return {
        "update_id": update_id or next(_update_ids),
        "my_chat_member": {
            "chat": private_chat(user),
            "from": user,
            "date": int(time.time()),
            "old_chat_member": member(old_status),
            "new_chat_member": member(status),
        },
    }


def pre_checkout(user: dict, payload: str, *, total_amount: int, currency: str = "XTR", update_id=None) -> dict:
    return {
        "update_id": update_id or next(_update_ids),
        "pre_checkout_query": {
            "id": f"pcq-{next(_message_ids)}",
            "from": user,
            "currency": currency,
            "total_amount": total_amount,
            "invoice_payload": payload,
        },
    }


def successful_payment(
    user: dict, payload: str, *, total_amount: int, charge_id: str, currency: str = "XTR", update_id=None
) -> dict:
    payment = {
        "currency": currency,
        "total_amount": total_amount,
        "invoice_payload": payload,
        "telegram_payment_charge_id": charge_id,
        "provider_payment_charge_id": "" if currency == "XTR" else f"provider-{charge_id}",
    }
    return message(user, update_id=update_id, successful_payment=payment)


def stars_payload(telegram_id: int, product) -> str:
    """The payload of the invoice the bot sends `telegram_id` for `product` at its price in Stars."""
    return invoice_payload(InvoiceTerms(telegram_id, product.pk, product.price, "XTR"))


def stars_payment(user: dict, product, *, charge_id: str, update_id=None) -> dict:
    """`user` paid the bot's Stars invoice for `product`, at its price."""
    return successful_payment(
        user, stars_payload(user["id"], product), total_amount=product.price, charge_id=charge_id, update_id=update_id
    )


def refunded_payment(user: dict, *, total_amount: int, charge_id: str, payload: str = "", update_id=None) -> dict:
    refund = {
        "currency": "XTR",
        "total_amount": total_amount,
        "invoice_payload": payload,
        "telegram_payment_charge_id": charge_id,
    }
    return message(user, update_id=update_id, refunded_payment=refund)


def document(user: dict, file_id: str = "BQACAgIAAxkBAAIBQ2", *, update_id=None) -> dict:
    doc = {"file_id": file_id, "file_unique_id": f"u-{file_id}", "file_name": "manual.pdf"}
    return message(user, update_id=update_id, document=doc)


def chat_join_request(user: dict, chat: dict, *, invite_link: dict | None = None, update_id=None) -> dict:
    """`user` asks to join `chat` (a channel or group, as the fake's `join_request` gives it)."""
    request = {"chat": chat, "from": user, "user_chat_id": user["id"], "date": int(time.time())}
    if invite_link is not None:
        request["invite_link"] = invite_link
    return {"update_id": update_id or next(_update_ids), "chat_join_request": request}


def subscription_payment(
    user: dict, payload: str, *, total_amount: int, charge_id: str, expires_at: int, first: bool = True, update_id=None
) -> dict:
    """A Stars subscription's payment: its first (`first`), or a renewal Telegram made by itself."""
    update = successful_payment(user, payload, total_amount=total_amount, charge_id=charge_id, update_id=update_id)
    update["message"]["successful_payment"] |= {
        "subscription_expiration_date": expires_at,
        "is_recurring": True,
        **({"is_first_recurring": True} if first else {}),
    }
    return update
