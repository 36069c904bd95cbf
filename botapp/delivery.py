"""Handing the goods over: hidden content and file, exactly where a purchase allows it.

A purchase is recorded before anything is sent, so a failed send never loses or undoes it.
Each delivery is claimed first (shop.services.purchase_claim_delivery), so two workers that
see the same payment deliver it once.
"""

import enum
import io
import logging
import os
import time
from collections.abc import Callable
from functools import partial

import requests
from django.conf import settings
from django.utils import translation
from django.utils.text import slugify
from telebot import TeleBot
from telebot.apihelper import ApiException, ApiTelegramException
from telebot.types import InputFile

from botapp import screens, staff, texts
from botapp.access import deliver_access
from botapp.telegram.errors import retry_after_seconds
from botapp.texts import language_for
from shop.access.selectors import chat_access_get
from shop.models import FileKind, Product
from shop.services.catalog import product_set_file_id
from shop.services.customers import user_set_blocked
from shop.services.delivery import (
    purchase_claim_delivery,
    purchase_delivery_pending,
    purchase_mark_delivered,
    purchase_mark_delivery_failed,
)
from shop.stock.selectors import units_of_purchase
from shop.telegram_html import visible_length
from shop.trial import SampleUnit

log = logging.getLogger(__name__)

CAPTION_LIMIT = texts.CAPTION_LIMIT
MAX_INLINE_WAIT = 10  # seconds of 429 retry_after worth waiting for while the buyer waits


class Delivery(enum.Enum):
    DELIVERED = "delivered"
    SKIPPED = "skipped"  # nothing to deliver: done already, refunded or under review
    BUSY = "busy"  # another worker holds the delivery: check again when its claim runs out
    BLOCKED = "blocked"  # the buyer blocked the bot
    RETRY = "retry"  # Telegram unreachable or busy: try again later
    FAILED = "failed"  # Telegram refused the content itself: staff must look


def deliver_purchase(bot: TeleBot, purchase_id: int, *, again: bool = False) -> Delivery:
    """Send a purchase's content to its buyer, once (or `again`, when staff ask to resend)."""
    purchase = purchase_claim_delivery(purchase_id=purchase_id, again=again)
    if purchase is None:
        busy = purchase_delivery_pending(purchase_id=purchase_id)
        return Delivery.BUSY if busy else Delivery.SKIPPED
    return deliver_claimed(bot, purchase)


def deliver_claimed(bot: TeleBot, purchase) -> Delivery:
    """Deliver a purchase whose delivery this worker holds (it has just recorded it, or claimed it)."""
    try:
        # in the buyer's language, also when the worker delivers in the background
        with translation.override(language_for(purchase.user.language_code)):
            # a product loaded with its `gives_chat_access` (the payment's) needs no look for a chat
            opens_chat = getattr(purchase.product, "gives_chat_access", None)
            access = chat_access_get(product_id=purchase.product_id) if opens_chat is not False else None
            if access is not None:  # a chat's access: the invite link (botapp.access)
                deliver_access(bot, purchase, access)
            else:
                units = _units(purchase)
                send_content(bot, purchase.user.telegram_id, purchase.product, heading=texts.delivery_heading, units=units)
    except ApiTelegramException as exc:
        error = f"{exc.error_code} {exc.description}"
        purchase_mark_delivery_failed(purchase=purchase, error=error)
        if exc.error_code == 403:
            user_set_blocked(telegram_id=purchase.user.telegram_id, blocked=True)
            return Delivery.BLOCKED
        if exc.error_code == 429 or exc.error_code >= 500:
            return Delivery.RETRY
        return _failed(bot, purchase, error)
    except (ApiException, requests.RequestException, OSError) as exc:
        # unreachable, a proxy's HTML error page, a file storage hiccup: try again later
        purchase_mark_delivery_failed(purchase=purchase, error=type(exc).__name__)
        return Delivery.RETRY
    except Exception as exc:
        log.exception("delivery of purchase %s failed", purchase.pk)
        return _failed(bot, purchase, type(exc).__name__)
    purchase_mark_delivered(purchase=purchase)
    return Delivery.DELIVERED


def _units(purchase) -> list:
    """The purchase's units, whatever the product's setting is now; a test purchase (Try the bot) of a
    product sold from stock took none: samples show staff how units arrive."""
    if purchase.payment_type == purchase.PaymentType.TEST and purchase.product.sells_units:
        return [SampleUnit(texts.sample_unit(number)) for number in range(1, purchase.quantity + 1)]
    if getattr(purchase, "holds_no_units", False):  # the payment just recorded took none (shop.services.payments)
        return []
    return units_of_purchase(purchase=purchase)


def _failed(bot: TeleBot, purchase, error: str) -> Delivery:
    """Content Telegram will not take as it is: staff must fix it; the buyer is told it is coming."""
    log.error("delivery of purchase %s failed: %s", purchase.pk, error)
    purchase_mark_delivery_failed(purchase=purchase, error=error)
    staff.notify_staff(bot, staff.delivery_failed_alert(purchase, error))
    try:
        with translation.override(language_for(purchase.user.language_code)):
            bot.send_message(purchase.user.telegram_id, texts.delivery_needs_staff())
    except Exception:
        log.info("could not tell %s about the failed delivery", purchase.user.telegram_id)
    return Delivery.FAILED


# One message of a delivery: called with `reply_markup=` its buttons, or None.
Send = Callable[..., object]


def send_content(bot: TeleBot, chat_id: int, product: Product, *, heading=texts.reopen_heading, units=()) -> None:
    """The hidden content, the buyer's own units (if sold from stock) and the file, in as few messages
    as Telegram's limits allow; the last one ends with buttons to My purchases and the menu."""
    title = heading(product.name)
    text = f"{title}\n\n{product.hidden_content}" if product.hidden_content else title
    protect = settings.DELIVERY_PROTECT_CONTENT
    text_units = [unit for unit in units if not unit.file_id]
    sends: list[Send] = []
    if text_units:
        sends += _unit_sends(bot, chat_id, product, text, text_units, protect)
        if product.has_file:
            sends.append(partial(_send_file, bot, chat_id, product, caption=title, protect=protect))
    elif product.has_file:
        caption_fits = visible_length(text) <= CAPTION_LIMIT
        if not caption_fits:
            sends += _text_sends(bot, chat_id, text, protect)
        sends.append(partial(_send_file, bot, chat_id, product, caption=text if caption_fits else title, protect=protect))
    else:
        sends += _text_sends(bot, chat_id, text, protect)
    for unit in units:
        if unit.file_id:  # a unit with its own file: the file, its text as the caption
            caption = texts.unit_code(unit.content)
            sends.append(partial(_patiently, bot.send_document, chat_id, unit.file_id, caption=caption, protect_content=protect))
    for send in sends[:-1]:
        send(reply_markup=None)
    sends[-1](reply_markup=screens.after_content())


MAX_UNIT_MESSAGES = 3  # more than this many messages of units: the units go in a file instead


def _unit_sends(bot: TeleBot, chat_id: int, product: Product, text: str, units, protect: bool) -> list[Send]:
    """The text, then each unit ready to copy (in <code>), packed into messages up to Telegram's limit."""
    head = [text] if visible_length(text) <= texts.MESSAGE_LIMIT else list(text.partition("\n\n")[::2])
    lines = [texts.unit_line(number, unit.content, numbered=len(units) > 1) for number, unit in enumerate(units, 1)]
    messages = _packed([*head, "\n" + texts.units_heading(len(units)), *lines])
    if len(messages) - len(_packed(head)) <= MAX_UNIT_MESSAGES:
        return [partial(_patiently, bot.send_message, chat_id, message, protect_content=protect) for message in messages]
    sends = [
        partial(_patiently, bot.send_message, chat_id, message, protect_content=protect)
        for message in _packed([*head, "\n" + texts.units_in_file(len(units))])
    ]
    listing = ("\n".join(unit.content.replace("\n", " | ") for unit in units) + "\n").encode()
    name = f"{slugify(product.name) or 'items'}.txt"
    sends.append(
        lambda reply_markup: _patiently(
            bot.send_document,
            chat_id,
            InputFile(io.BytesIO(listing), file_name=name),
            protect_content=protect,
            reply_markup=reply_markup,
        )
    )
    return sends


def _packed(blocks: list[str]) -> list[str]:
    """Blocks joined by line breaks into as few messages as fit Telegram's limit (each block fits one)."""
    messages: list[str] = []
    for block in blocks:
        joined = f"{messages[-1]}\n{block}" if messages else block
        if messages and visible_length(joined) <= texts.MESSAGE_LIMIT:
            messages[-1] = joined
        else:
            messages.append(block.lstrip("\n"))
    return messages


def _text_sends(bot: TeleBot, chat_id: int, text: str, protect: bool) -> list[Send]:
    if visible_length(text) <= texts.MESSAGE_LIMIT:
        return [partial(_patiently, bot.send_message, chat_id, text, protect_content=protect)]
    # heading and content apart; each fits (the admin caps hidden content at one message)
    title, _, content = text.partition("\n\n")
    return [partial(_patiently, bot.send_message, chat_id, part, protect_content=protect) for part in (title, content)]


# The Bot API method for each kind of file, and where its answer carries the file
FILE_METHODS = {
    FileKind.DOCUMENT: "send_document",
    FileKind.PHOTO: "send_photo",
    FileKind.VIDEO: "send_video",
    FileKind.AUDIO: "send_audio",
    FileKind.VOICE: "send_voice",
    FileKind.ANIMATION: "send_animation",
}


def _send_file(bot: TeleBot, chat_id: int, product: Product, reply_markup=None, *, caption: str, protect: bool) -> None:
    """The product's file, as its kind (a photo shows as a photo...), sent by Telegram's file id once it has one."""
    send = getattr(bot, FILE_METHODS.get(product.file_kind, "send_document"))
    if product.file_id:
        _patiently(send, chat_id, product.file_id, caption=caption, protect_content=protect, reply_markup=reply_markup)
        return
    with product.file.open("rb") as upload:  # an upload is not repeated inline: a 429 retries it later
        message = send(
            chat_id,
            InputFile(_readable(upload), file_name=os.path.basename(product.file.name)),
            caption=caption,
            protect_content=protect,
            reply_markup=reply_markup,
        )
    # Upload once: later deliveries send Telegram's file id.
    file_id = _sent_file_id(message, product.file_kind)
    if file_id:
        product_set_file_id(product_id=product.pk, file_id=file_id)
        product.file_id = file_id


def _sent_file_id(message, kind: str) -> str:
    """Telegram's id of the file a message carries (a photo: its largest size)."""
    sent = getattr(message, kind, None) or message.document
    if isinstance(sent, list):
        sent = sent[-1] if sent else None
    return sent.file_id if sent else ""


def _readable(field_file) -> io.IOBase:
    """telebot uploads real file objects; a storage's file wrapper is unwrapped (or read)."""
    raw = getattr(field_file.file, "file", field_file.file)
    return raw if isinstance(raw, io.IOBase) else io.BytesIO(field_file.read())


def _patiently(send, *args, **kwargs):
    """Call the Bot API, waiting out a short 429 (flood control) instead of failing the delivery."""
    for attempt in range(3):
        try:
            return send(*args, **kwargs)
        except ApiTelegramException as exc:
            retry_after = retry_after_seconds(exc)
            if exc.error_code != 429 or retry_after is None or retry_after > MAX_INLINE_WAIT or attempt == 2:
                raise
            log.info("flood control: waiting %s s before sending again", retry_after)
            time.sleep(retry_after)
