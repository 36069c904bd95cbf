"""Try the bot without Telegram: the real bot (its handlers, screens and texts) talking to an in-process
stand-in for the Bot API.

Staff chat with the bot in the admin as their own test customer (shop/trial.py). What they do is turned
into the update Telegram would send (a message, a button press, a checkout and its payment) and handed
to the bot through botapp.dispatch, as polling and the webhook do; while it runs, every Bot API call the
bot makes is answered in-process (botapp/bot_api_stand_in.py, through botapp.telegram.http.stand_in),
checked as Telegram checks it and kept as the chat's messages (botapp.models.TrialMessage). Nothing goes
over the network.
"""

import secrets
import time
from dataclasses import dataclass, field

from django.db import transaction
from telebot import apihelper

from botapp.bot import create_bot
from botapp.bot_api_stand_in import TEXT_LIMIT, StandIn, as_telegram, bot_user, chat_post
from botapp.dispatch import parse_update, process_update
from botapp.models import TrialMessage
from botapp.telegram.client import one_per_process
from botapp.telegram.http import ApiSender, stand_in
from shop.services.trial import trial_customer_forget
from shop.telegram_html import escape, telegram_html_preview
from shop.trial import TEST_PAYMENT_PREFIX, trial_customer_id

# A token no Telegram bot has: a call that ever left the stand-in would be refused (401).
SIMULATOR_TOKEN = "0:try-the-bot"
SHOWN_MESSAGES = 200  # the latest of a chat, as far back as the page shows
PAYMENT_ATTEMPTS = 3

# One simulator bot per process, built like the real one (same handlers), with a token no bot has.
simulator_bot = one_per_process(lambda token: create_bot(SIMULATOR_TOKEN))


@dataclass
class Outcome:
    """What an action showed besides the chat's messages."""

    toasts: list[str] = field(default_factory=list)
    checkout_error: str | None = None


class TrialChat:
    """A staff member's chat with the bot, as their test customer."""

    def __init__(self, *, staff_id: int, name: str, language_code: str = "en"):
        self.chat_id = trial_customer_id(staff_id=staff_id)
        self.sender = {
            "id": self.chat_id,
            "is_bot": False,
            "first_name": (name or "Staff")[:64],
            "last_name": "(test)",
            "language_code": language_code,
        }

    def _chat(self) -> dict:
        return {"id": self.chat_id, "type": "private", "first_name": self.sender["first_name"], "last_name": "(test)"}

    def _hand_over(self, update: dict) -> StandIn:
        """The update handed to the bot, its Bot API calls answered by a stand-in; a payment the bot could not
        handle comes again, as Telegram sends it again (recording it is idempotent by its charge id)."""
        bot = simulator_bot()
        if not isinstance(apihelper.CUSTOM_REQUEST_SENDER, ApiSender):  # only ours hands calls to the stand-in
            raise RuntimeError("the Bot API sender was replaced: Try the bot would reach the network")
        update = {"update_id": secrets.randbelow(2**31), **update}
        for _attempt in range(PAYMENT_ATTEMPTS):
            answers = StandIn(self.chat_id)
            with stand_in(answers):
                if process_update(bot, parse_update(update)):
                    break
        return answers

    def send_text(self, text: str) -> Outcome:
        text = text.strip()[:TEXT_LIMIT]
        if not text:
            return Outcome()
        message = {"text": text}
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        message_id = chat_post(self.chat_id, {"text": text}, from_bot=False)
        self._hand_over({"message": self._user_message(message_id, message)})
        return Outcome()

    def _user_message(self, message_id: int, content: dict) -> dict:
        return {"message_id": message_id, "from": self.sender, "chat": self._chat(), "date": int(time.time()), **content}

    def press(self, *, message_id: int, data: str) -> Outcome:
        """A press of one of the buttons under one of the bot's messages (only those the chat shows)."""
        message = TrialMessage.objects.filter(chat_id=self.chat_id, message_id=message_id, from_bot=True).first()
        if message is None or data not in _callback_data(message.content):
            return Outcome()
        shown = {
            "message_id": message.message_id,
            "from": bot_user(),
            "chat": self._chat(),
            "date": int(message.sent_at.timestamp()),
            **as_telegram(message.content),
        }
        press = {"id": str(secrets.randbelow(2**63)), "from": self.sender, "message": shown, "chat_instance": "1", "data": data}
        answers = self._hand_over({"callback_query": press})
        return Outcome(toasts=answers.toasts)

    def pay(self, *, message_id: int) -> Outcome:
        """Pay (test) on an invoice: the checkout, and if the bot lets it through, the payment, as Telegram sends them."""
        message = TrialMessage.objects.filter(chat_id=self.chat_id, message_id=message_id, from_bot=True).first()
        if message is None or "invoice" not in message.content or message.content.get("paid"):
            return Outcome(checkout_error="")
        invoice, payload = message.content["invoice"], message.content["payload"]
        checkout = {
            "id": str(secrets.randbelow(2**63)),
            "from": self.sender,
            "currency": invoice["currency"],
            "total_amount": invoice["total_amount"],
            "invoice_payload": payload,
        }
        answers = self._hand_over({"pre_checkout_query": checkout})
        if not answers.checkout_ok:
            return Outcome(checkout_error=answers.checkout_error or "")
        # An invoice is paid once, also when Pay is pressed in two tabs at once: the first to mark it paid pays.
        if not TrialMessage.objects.filter(pk=message.pk, content=message.content).update(
            content={**message.content, "paid": True}
        ):
            return Outcome(checkout_error="")
        payment = {
            "currency": invoice["currency"],
            "total_amount": invoice["total_amount"],
            "invoice_payload": payload,
            "telegram_payment_charge_id": f"{TEST_PAYMENT_PREFIX}{secrets.token_hex(12)}",
            "provider_payment_charge_id": "",
        }
        receipt_id = chat_post(
            self.chat_id, {"payment": {"currency": invoice["currency"], "total_amount": invoice["total_amount"]}}, from_bot=False
        )
        self._hand_over({"message": self._user_message(receipt_id, {"successful_payment": payment})})
        return Outcome()

    def messages(self) -> list[dict]:
        """The chat as the page shows it: formatting as safe HTML, buttons, files, invoices."""
        latest = TrialMessage.objects.filter(chat_id=self.chat_id).order_by("-message_id")[:SHOWN_MESSAGES]
        return [_shown(message) for message in reversed(latest)]

    def start_over(self) -> None:
        """Forget this test customer: the chat, their test purchases, everything the shop knew of them."""
        with transaction.atomic():
            TrialMessage.objects.filter(chat_id=self.chat_id).delete()
            trial_customer_forget(telegram_id=self.chat_id)


def _callback_data(content: dict) -> set[str]:
    rows = (content.get("reply_markup") or {}).get("inline_keyboard", [])
    return {button["callback_data"] for row in rows for button in row if "callback_data" in button}


def _formatted(text: str, parse_mode: str | None) -> str:
    return str(telegram_html_preview(text)) if parse_mode == "HTML" else escape(text)


def _button(button: dict) -> dict:
    if "callback_data" in button:
        return {"text": button["text"], "data": button["callback_data"]}
    url = button.get("url") or ""
    if url.lower().startswith(("https://", "http://", "tg://")):
        return {"text": button["text"], "url": url}
    return {"text": button["text"]}  # a kind the page cannot press (switch inline, pay...)


def _shown(message: TrialMessage) -> dict:
    content = message.content
    shown = {"id": message.message_id, "from_bot": message.from_bot, "edited": message.edited}
    if "text" in content:
        shown["html"] = _formatted(content["text"], content.get("parse_mode"))
    if "media" in content:
        shown["file"] = {"kind": content["media"]["kind"], "name": content["media"]["name"]}
        shown["html"] = _formatted(content.get("caption") or "", content.get("parse_mode"))
    if "invoice" in content:
        invoice = content["invoice"]
        shown["invoice"] = {
            "title": invoice["title"],
            "description": invoice["description"],
            "currency": invoice["currency"],
            "total_amount": invoice["total_amount"],
            "paid": bool(content.get("paid")),
        }
    if "payment" in content:
        shown["payment"] = content["payment"]
    rows = (content.get("reply_markup") or {}).get("inline_keyboard", [])
    shown["buttons"] = [[_button(button) for button in row] for row in rows]
    return shown
