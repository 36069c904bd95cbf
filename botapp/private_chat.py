"""Buttons pressed outside the presser's private chat: under the bot's message in a group, or on an inline
message. What a button opens can be personal (My purchases, a card with Open), so the press is answered
where it was made and the screen goes to the presser's private chat; the group's message is never changed.

This is the one guard, before any handler is chosen: handlers only ever see presses that belong to a
private chat.
"""

import logging

from telebot import TeleBot
from telebot.apihelper import ApiTelegramException
from telebot.types import CallbackQuery, Update

from botapp import texts
from botapp.render import answer_callback, answer_held
from shop.services.customers import user_set_blocked

log = logging.getLogger(__name__)


def pressed_outside_private(update: Update) -> bool:
    call = update.callback_query
    if call is None:
        return False
    if call.message is None:
        return call.inline_message_id is not None
    chat = getattr(call.message, "chat", None)
    return chat is not None and chat.type != "private"


def process_in_private(bot: TeleBot, update: Update) -> None:
    """Handle the press as if made in the presser's private chat, then answer it: with the handler's own
    answer, or saying where the screen went, or, when the bot may not write to them, how to open it."""
    call: CallbackQuery = update.callback_query
    # Without a message to edit, handlers send the screen to the presser (call.from_user) instead.
    call.message = None
    call.inline_message_id = None
    refused = None
    with answer_held(call.id) as held:
        try:
            bot.process_new_updates([update])
        except ApiTelegramException as exc:
            if not _cannot_write(exc):
                raise
            refused = exc
    if refused is None:
        answer_callback(bot, call.id, held.text or texts.continued_in_private())
        return
    log.info("could not continue %s's press in private: %s", call.from_user.id, refused.description)
    if refused.error_code == 403:
        user_set_blocked(telegram_id=call.from_user.id, blocked=True)
    username = _bot_username(bot)
    url = f"https://t.me/{username}?start=menu" if username else None  # opens the chat with the bot
    answer_callback(bot, call.id, texts.open_the_bot_first(username), url=url)


def _cannot_write(exc: ApiTelegramException) -> bool:
    """The user blocked the bot or never started it."""
    return exc.error_code == 403 or (exc.error_code == 400 and "chat not found" in (exc.description or ""))


def _bot_username(bot: TeleBot) -> str | None:
    try:
        return bot.user.username  # asked of Telegram once per bot, then kept
    except Exception:
        log.info("could not ask Telegram for the bot's username")
        return None
