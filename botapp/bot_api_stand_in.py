"""An in-process stand-in for the Bot API, for "Try the bot" (botapp/simulator.py).

It answers the calls the bot makes while an update is handed to it there, as Telegram would: checked as
Telegram checks them (Telegram's HTML, lengths, button data, invoices, edits that change nothing) and
refused with the same 400s, and keeps the messages of the test customer's chat (TrialMessage). Calls to
other chats (staff alerts, support copies) are answered and dropped. Nothing goes over the network.
"""

import json
import secrets
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max

from botapp.models import TrialMessage
from botapp.telegram.http import Response
from shop.telegram_html import validate_telegram_html, visible_length, visible_text
from shop.trial import TEST_PAYMENT_PREFIX

BOT_ID = 1
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64  # bytes
CALLBACK_ANSWER_LIMIT = 200
INVOICE_TITLE_LIMIT = 32
INVOICE_DESCRIPTION_LIMIT = 255
INVOICE_PAYLOAD_LIMIT = 128  # bytes
MEDIA_KINDS = ("photo", "document", "video", "audio", "voice", "animation", "video_note", "sticker")
# Bot API methods the shop's bot may call that change nothing in the chat: taken, answered True.
ACCEPTED = {"sendChatAction", "setMyCommands", "deleteMyCommands", "setChatMenuButton", "deleteWebhook"}


class Refused(Exception):
    """A call Telegram answers with 400 and this description."""


def bot_user() -> dict:
    return {"id": BOT_ID, "is_bot": True, "first_name": "Shop", "username": settings.TELEGRAM_BOT_USERNAME or "shop_bot"}


def _kind_of(method: str) -> str:
    """sendVideoNote -> video_note."""
    name = method.removeprefix("send")
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def _html_refusal(text: str, parse_mode: str | None) -> str | None:
    if parse_mode != "HTML":
        return None
    try:
        validate_telegram_html(text)
    except ValidationError as error:
        return "Bad Request: can't parse entities: " + " ".join(error.messages)
    return None


def _visible_length(text: str, parse_mode: str | None) -> int:
    return visible_length(text) if parse_mode == "HTML" else len(text.encode("utf-16-le")) // 2


def _check_text(text: str, parse_mode: str | None) -> None:
    refusal = _html_refusal(text, parse_mode)
    if refusal:
        raise Refused(refusal)
    if not (visible_text(text) if parse_mode == "HTML" else text).strip():
        raise Refused("Bad Request: message text is empty")
    if _visible_length(text, parse_mode) > TEXT_LIMIT:
        raise Refused("Bad Request: message is too long")


def _check_caption(caption: str, parse_mode: str | None) -> None:
    refusal = _html_refusal(caption, parse_mode)
    if refusal:
        raise Refused(refusal)
    if _visible_length(caption, parse_mode) > CAPTION_LIMIT:
        raise Refused("Bad Request: message caption is too long")


def _markup(params: dict) -> dict | None:
    raw = params.get("reply_markup")
    if not raw:
        return None
    markup = json.loads(raw) if isinstance(raw, str) else raw
    for row in markup.get("inline_keyboard", []):
        for button in row:
            if not button.get("text"):
                raise Refused("Bad Request: text buttons are unallowed in the inline keyboard")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode()) <= CALLBACK_DATA_LIMIT:
                raise Refused("Bad Request: BUTTON_DATA_INVALID")
    return markup


@dataclass
class StandIn:
    """The Bot API for one handed-over update: answers each call as Telegram would, keeping the chat's messages."""

    chat_id: int
    toasts: list[str] = field(default_factory=list)  # answerCallbackQuery texts, shown briefly
    checkout_error: str | None = None  # answerPreCheckoutQuery refused, with this message
    checkout_ok: bool = False

    def __call__(self, method: str, params: dict, files: dict) -> Response:
        try:
            handler = getattr(self, f"api_{method}", None)
            if handler is not None:
                result = handler(params, files)
            elif method in ACCEPTED:
                result = True
            elif method.startswith("send") and _kind_of(method) in MEDIA_KINDS:
                result = self._send_media(_kind_of(method), params, files)
            else:
                return _answer(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        except Refused as refusal:
            return _answer(400, {"ok": False, "error_code": 400, "description": str(refusal)})
        except (KeyError, TypeError, ValueError):
            return _answer(400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"})
        return _answer(200, {"ok": True, "result": result})

    # --- the chat ---
    def _ours(self, params: dict) -> bool:
        return int(params["chat_id"]) == self.chat_id

    def _envelope(self, params: dict, message_id: int, content: dict) -> dict:
        message = {
            "message_id": message_id,
            "from": bot_user(),
            "chat": {"id": int(params["chat_id"]), "type": "private"},
            "date": int(time.time()),
        }
        message.update(as_telegram(content))
        return message

    def _post(self, params: dict, content: dict) -> dict:
        """A new message from the bot: kept if it is in this chat (elsewhere: staff alerts, dropped)."""
        markup = _markup(params)
        if markup:
            content["reply_markup"] = markup
        if not self._ours(params):
            return self._envelope(params, elsewhere_message_id(), content)
        return self._envelope(params, chat_post(self.chat_id, content, from_bot=True), content)

    def _message(self, params: dict) -> TrialMessage:
        if not self._ours(params):
            raise Refused("Bad Request: message to edit not found")
        message = TrialMessage.objects.filter(
            chat_id=self.chat_id, message_id=int(params.get("message_id") or 0), from_bot=True
        ).first()
        if message is None:
            raise Refused("Bad Request: message to edit not found")
        return message

    def _edited(self, message: TrialMessage, content: dict, params: dict) -> dict:
        markup = _markup(params)
        if markup:
            content["reply_markup"] = markup
        else:
            content.pop("reply_markup", None)
        if content == message.content:
            raise Refused(
                "Bad Request: message is not modified: specified new message content and reply markup are exactly "
                "the same as a current content and reply markup of the message"
            )
        message.content, message.edited = content, True
        message.save(update_fields=["content", "edited"])
        return self._envelope(params, message.message_id, content)

    # --- the methods ---
    def api_getMe(self, params, files):
        return bot_user()

    def api_sendMessage(self, params, files):
        text, parse_mode = params.get("text") or "", params.get("parse_mode")
        _check_text(text, parse_mode)
        return self._post(params, {"text": text, "parse_mode": parse_mode})

    def _send_media(self, kind: str, params: dict, files: dict) -> dict:
        caption, parse_mode = params.get("caption") or "", params.get("parse_mode")
        _check_caption(caption, parse_mode)
        return self._post(
            params, {"media": _media(kind, params.get(kind), files.get(kind)), "caption": caption, "parse_mode": parse_mode}
        )

    def api_sendInvoice(self, params, files):
        title, description = params.get("title") or "", params.get("description") or ""
        payload = params.get("payload") or ""
        prices = json.loads(params.get("prices") or "[]")
        if not 1 <= len(title) <= INVOICE_TITLE_LIMIT:
            raise Refused("Bad Request: INVOICE_TITLE_INVALID")
        if not 1 <= len(description) <= INVOICE_DESCRIPTION_LIMIT:
            raise Refused("Bad Request: INVOICE_DESCRIPTION_INVALID")
        if not 1 <= len(payload.encode()) <= INVOICE_PAYLOAD_LIMIT:
            raise Refused("Bad Request: INVOICE_PAYLOAD_INVALID")
        if not prices or any(not isinstance(p.get("amount"), int) or p["amount"] <= 0 for p in prices):
            raise Refused("Bad Request: INVOICE_PRICES_INVALID")
        currency = params.get("currency") or ""
        if currency == "XTR" and (len(prices) != 1 or params.get("provider_token")):
            raise Refused("Bad Request: STARS_INVOICE_INVALID")
        invoice = {
            "title": title,
            "description": description,
            "start_parameter": "",
            "currency": currency,
            "total_amount": sum(p["amount"] for p in prices),
        }
        return self._post(params, {"invoice": invoice, "payload": payload, "prices": prices})

    def api_editMessageText(self, params, files):
        message = self._message(params)
        if "text" not in message.content:
            raise Refused("Bad Request: there is no text in the message to edit")
        text, parse_mode = params.get("text") or "", params.get("parse_mode")
        _check_text(text, parse_mode)
        return self._edited(message, {"text": text, "parse_mode": parse_mode}, params)

    def api_editMessageCaption(self, params, files):
        message = self._message(params)
        if "media" not in message.content:
            raise Refused("Bad Request: there is no caption in the message to edit")
        caption, parse_mode = params.get("caption") or "", params.get("parse_mode")
        _check_caption(caption, parse_mode)
        return self._edited(message, {**message.content, "caption": caption, "parse_mode": parse_mode}, params)

    def api_editMessageMedia(self, params, files):
        message = self._message(params)
        if "invoice" in message.content:
            raise Refused("Bad Request: message can't be edited")
        media = json.loads(params["media"]) if isinstance(params.get("media"), str) else params["media"]
        kind, source = media.get("type"), media.get("media") or ""
        if kind not in ("photo", "document", "video", "audio", "animation"):
            raise Refused("Bad Request: can't parse InputMedia: unsupported type")
        attached = files.get(source.removeprefix("attach://")) if source.startswith("attach://") else None
        caption, parse_mode = media.get("caption") or "", media.get("parse_mode")
        _check_caption(caption, parse_mode)
        content = {"media": _media(kind, None if attached else source, attached), "caption": caption, "parse_mode": parse_mode}
        return self._edited(message, content, params)

    def api_editMessageReplyMarkup(self, params, files):
        message = self._message(params)
        return self._edited(message, dict(message.content), params)

    def api_deleteMessage(self, params, files):
        if not self._ours(params):
            return True
        deleted, _ = TrialMessage.objects.filter(chat_id=self.chat_id, message_id=int(params["message_id"])).delete()
        if not deleted:
            raise Refused("Bad Request: message to delete not found")
        return True

    def api_answerCallbackQuery(self, params, files):
        text = params.get("text") or ""
        if len(text.encode("utf-16-le")) // 2 > CALLBACK_ANSWER_LIMIT:
            raise Refused("Bad Request: MESSAGE_TOO_LONG")
        if text:
            self.toasts.append(text)
        return True

    def api_answerPreCheckoutQuery(self, params, files):
        ok = str(params.get("ok")) == "True"
        if not ok and not params.get("error_message"):
            raise Refused("Bad Request: error_message is required")
        self.checkout_ok, self.checkout_error = ok, None if ok else params["error_message"]
        return True

    def api_copyMessage(self, params, files):
        if self._ours(params):
            raise Refused("Bad Request: message can't be copied")
        return {"message_id": elsewhere_message_id()}  # to staff (support): dropped

    def api_forwardMessage(self, params, files):
        if self._ours(params):
            raise Refused("Bad Request: message can't be forwarded")
        return self._envelope(params, elsewhere_message_id(), {"text": "…"})

    def api_refundStarPayment(self, params, files):
        if not str(params.get("telegram_payment_charge_id", "")).startswith(TEST_PAYMENT_PREFIX):
            raise Refused("Bad Request: CHARGE_NOT_FOUND")
        return True


# What the bot gets back of a message it sent (the rest of what is kept is for the page)
TELEGRAM_FIELDS = ("text", "caption", "invoice", "reply_markup", *MEDIA_KINDS)


def elsewhere_message_id() -> int:
    """The id of a message "sent" to another chat (dropped): negative, which no real message's id is, so
    nothing kept about it (a support copy, say) can ever match a message in a real staff chat."""
    return -1 - secrets.randbelow(2**53)


def _media(kind: str, file_id, upload) -> dict:
    """A file the bot sent: by Telegram's file id, or uploaded. An upload gets no file id back, so the
    shop never keeps a made-up id in place of a real Telegram one."""
    if upload is not None:
        name = upload[0] if isinstance(upload, tuple) else getattr(upload, "name", "") or ""
        return {"kind": kind, "file_id": "", "name": str(name).rsplit("/", 1)[-1]}
    return {"kind": kind, "file_id": str(file_id or ""), "name": ""}


def _answer(status: int, body: dict) -> Response:
    return Response(status, "OK" if status == 200 else "Bad Request", json.dumps(body).encode())


def _telegram_file(media: dict) -> dict | list:
    file = {"file_id": media["file_id"], "file_unique_id": f"u{media['file_id'][-16:]}"}
    if media["kind"] == "photo":
        return [{**file, "width": 1280, "height": 1280}]
    if media["kind"] in ("video", "animation", "video_note"):
        return {**file, "width": 640, "height": 640, "length": 640, "duration": 1}
    if media["kind"] in ("audio", "voice"):
        return {**file, "duration": 1}
    if media["kind"] == "sticker":
        return {**file, "type": "regular", "width": 512, "height": 512, "is_animated": False, "is_video": False}
    return file


def as_telegram(content: dict) -> dict:
    """A kept message's content as Telegram shows it to the bot (its file in message.photo, message.document...)."""
    shown = {key: value for key, value in content.items() if key in TELEGRAM_FIELDS}
    media = content.get("media")
    if media:
        shown[media["kind"]] = _telegram_file(media)
    return shown


def chat_post(chat_id: int, content: dict, *, from_bot: bool) -> int:
    """Keep a message in the chat; its id (the chat's next one)."""
    for _attempt in range(5):
        last = TrialMessage.objects.filter(chat_id=chat_id).aggregate(last=Max("message_id"))["last"] or 0
        try:
            with transaction.atomic():
                TrialMessage.objects.create(chat_id=chat_id, message_id=last + 1, from_bot=from_bot, content=content)
            return last + 1
        except IntegrityError:  # another request of the same chat took that id just now
            continue
    raise RuntimeError("could not add a message to the chat")
