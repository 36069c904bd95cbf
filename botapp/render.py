"""Putting a screen in the chat: edit the message in place when there is one, else send."""

import logging

from telebot import TeleBot
from telebot.apihelper import ApiTelegramException

from botapp.screens import Screen

log = logging.getLogger(__name__)


def show(bot: TeleBot, chat_id: int, screen: Screen, *, message_id: int | None = None) -> None:
    if message_id is not None:
        try:
            bot.edit_message_text(screen.text, chat_id, message_id, reply_markup=screen.markup)
            return
        except ApiTelegramException as exc:
            if "message is not modified" in (exc.description or ""):
                return  # the same button pressed twice
            if exc.error_code != 400:
                raise
            # Too old, deleted or not a text message: send the screen anew instead.
            log.info("could not edit message %s in chat %s: %s", message_id, chat_id, exc.description)
    bot.send_message(chat_id, screen.text, reply_markup=screen.markup)
