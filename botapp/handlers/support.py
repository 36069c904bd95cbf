"""Support: «Write to support» waits for the customer's next message, which goes to every staff member;
Cancel (or any command) stops waiting. A staff member's reply to that message goes back to the customer."""

from django.conf import settings
from telebot import TeleBot
from telebot.types import CallbackQuery, Message

from botapp import callbacks, screens, texts
from botapp.flood import support_gate
from botapp.handlers.common import show_in_place, support_can_write, sync_sender
from botapp.handlers.fallback import CONTENT_TYPES
from botapp.render import answer_callback, show
from botapp.support import RELAYED, relay_answer, relay_to_staff, tell
from botapp.waits import end_waits
from shop.support.models import SupportMessage
from shop.support.selectors import support_message_for_staff_message, support_wait_accepts
from shop.support.services import support_wait_cancel, support_wait_start, support_wait_use

PRIVATE = ["private"]


def on_write_to_support(call: CallbackQuery, bot: TeleBot) -> None:
    if not support_can_write():  # an old button, from before staff were removed
        answer_callback(bot, call.id, texts.support_unavailable(settings.SHOP_SUPPORT_CONTACT))
        return
    end_waits(call.from_user.id, but="support")  # one thing at a time waits for their message
    support_wait_start(telegram_id=call.from_user.id)
    show_in_place(bot, call, screens.support_prompt())


def on_cancel(call: CallbackQuery, bot: TeleBot) -> None:
    support_wait_cancel(telegram_id=call.from_user.id)
    show_in_place(bot, call, screens.support_done(texts.support_cancelled()))


def _is_command(message: Message) -> bool:
    return any(e.type == "bot_command" and e.offset == 0 for e in message.entities or [])


def awaited_by_support(message: Message) -> bool:
    """The customer pressed «Write to support» and this is their message (a command never is)."""
    return (
        message.from_user is not None
        and not _is_command(message)
        and support_wait_accepts(telegram_id=message.from_user.id, media_group_id=message.media_group_id or "")
    )


def on_message_to_support(message: Message, bot: TeleBot) -> None:
    sender = message.from_user
    if message.content_type not in RELAYED:
        bot.send_message(message.chat.id, texts.support_kind_not_taken(), reply_markup=screens.support_prompt().markup)
        return
    first = support_wait_use(telegram_id=sender.id, media_group_id=message.media_group_id or "")
    if first and not support_gate().allow(sender.id)[0]:
        support_wait_cancel(telegram_id=sender.id)
        show(bot, message.chat.id, screens.support_done(texts.support_too_many()))
        return
    kept = relay_to_staff(bot, message, sync_sender(sender), first=first)
    if first:
        done = screens.support_done(
            texts.support_sent() if kept.delivered else texts.support_not_sent(settings.SHOP_SUPPORT_CONTACT)
        )
        tell(bot, message.chat.id, done.text, markup=done.markup)


def _answered(message: Message) -> SupportMessage | None:
    return support_message_for_staff_message(staff_chat_id=message.chat.id, staff_message_id=message.reply_to_message.message_id)


def answers_support(message: Message) -> bool:
    """A staff member replied to a customer's support message (or its header) in their chat with the bot."""
    return (
        message.from_user is not None
        and message.from_user.id in settings.ADMIN_IDS
        and message.reply_to_message is not None
        and _answered(message) is not None
    )


def on_staff_answer(message: Message, bot: TeleBot) -> None:
    relay_answer(bot, message, _answered(message))


def register(bot: TeleBot) -> None:
    bot.register_callback_query_handler(on_write_to_support, func=callbacks.action_is("support"), pass_bot=True)
    bot.register_callback_query_handler(on_cancel, func=callbacks.action_is("support_cancel"), pass_bot=True)
    bot.register_message_handler(on_staff_answer, func=answers_support, content_types=RELAYED, chat_types=PRIVATE, pass_bot=True)
    bot.register_message_handler(
        on_message_to_support, func=awaited_by_support, content_types=CONTENT_TYPES, chat_types=PRIVATE, pass_bot=True
    )
