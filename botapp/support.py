"""Relaying support conversations: a customer's message to every staff member (with who wrote and what they
bought), a staff member's reply back to the customer. Messages are copied (copyMessage), so text, photos and
files all travel the same way, and a staff member's name never reaches the customer.
"""

import logging

from django.conf import settings
from django.utils import translation
from telebot import TeleBot
from telebot.apihelper import ApiTelegramException
from telebot.types import Message, ReplyParameters

from botapp import screens, texts
from botapp.telegram.errors import error_text, is_transient
from botapp.texts import language_for
from shop.models import User
from shop.services.customers import user_set_blocked
from shop.support.models import SupportMessage
from shop.support.selectors import support_recent_purchases, support_staff_languages
from shop.support.services import support_answer_record, support_copies_record, support_message_from_customer

log = logging.getLogger(__name__)

# What a customer may send to support: anything copyMessage can copy that a person would send.
RELAYED = ["text", "photo", "document", "video", "audio", "voice", "animation", "video_note", "sticker"]


def message_content(message: Message) -> tuple[str, str, str]:
    """(kind, text or caption, file id) of a message, as kept in the conversation."""
    kind = message.content_type
    text = message.text or message.caption or ""
    if kind == "photo":
        return kind, text, message.photo[-1].file_id  # the largest size
    return kind, text, getattr(getattr(message, kind, None), "file_id", "") or ""


def relay_to_staff(bot: TeleBot, message: Message, customer: User, *, first: bool) -> SupportMessage:
    """Copy the customer's `message` to every staff member; the first message of a request comes under a
    header saying who wrote and what they bought. Returns the message as kept (`delivered`: someone got it)."""
    kind, text, file_id = message_content(message)
    kept = support_message_from_customer(
        customer=customer, kind=kind, text=text, file_id=file_id, chat_message_id=message.message_id
    )
    purchases = support_recent_purchases(customer=customer) if first else []
    languages = support_staff_languages(telegram_ids=settings.ADMIN_IDS) if first else {}
    copies, reached = [], False
    for staff_id in settings.ADMIN_IDS:
        try:
            reply = None
            if first:
                with translation.override(language_for(languages.get(staff_id))):
                    header = bot.send_message(staff_id, texts.support_header(customer, purchases))
                copies.append((staff_id, header.message_id))
                reply = ReplyParameters(header.message_id, allow_sending_without_reply=True)
            copy = bot.copy_message(staff_id, message.chat.id, message.message_id, reply_parameters=reply)
        except Exception as exc:
            log.warning("could not relay a support message to staff member %s: %s", staff_id, error_text(exc))
            continue
        copies.append((staff_id, copy.message_id))
        reached = True
    support_copies_record(message=kept, copies=copies, reached=reached)
    return kept


def relay_answer(bot: TeleBot, message: Message, answer_to: SupportMessage) -> None:
    """Copy a staff member's reply to the customer who wrote `answer_to`, keep it, and tell the staff member
    whether it arrived. Telegram being unreachable raises, so the update is handled again."""
    customer = answer_to.customer
    error, blocked = "", False
    try:
        with translation.override(language_for(customer.language_code)):
            write_again = screens.write_to_support_markup()
        bot.copy_message(
            customer.telegram_id,
            message.chat.id,
            message.message_id,
            reply_parameters=ReplyParameters(answer_to.chat_message_id, allow_sending_without_reply=True),
            reply_markup=write_again,
        )
    except ApiTelegramException as exc:
        if is_transient(exc):
            raise
        error, blocked = f"{exc.error_code} {exc.description}", exc.error_code == 403
        if blocked:
            user_set_blocked(telegram_id=customer.telegram_id, blocked=True)
    kind, text, file_id = message_content(message)
    support_answer_record(
        answer_to=answer_to,
        staff_telegram_id=message.from_user.id,
        kind=kind,
        text=text,
        file_id=file_id,
        chat_message_id=message.message_id,
        error=error,
    )
    if not error:
        outcome = texts.support_answer_sent(customer)
    elif blocked:
        outcome = texts.support_answer_blocked(customer)
    else:
        outcome = texts.support_answer_refused(customer, error)
    tell(bot, message.chat.id, outcome, reply_to=message.message_id)


def tell(bot: TeleBot, chat_id: int, text: str, *, reply_to: int | None = None, markup=None) -> None:
    """Say how a relay went. What was relayed is kept: failing to say so must not make the update run again
    (and relay it twice)."""
    try:
        reply = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
        bot.send_message(chat_id, text, reply_parameters=reply, reply_markup=markup)
    except Exception as exc:
        log.warning("could not tell %s how a support message went: %s", chat_id, error_text(exc))
