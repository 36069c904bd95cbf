"""Putting a screen in the chat: edit the message in place when there is one, else send."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from telebot import TeleBot
from telebot.apihelper import ApiTelegramException

from botapp.screens import Screen

log = logging.getLogger(__name__)


@dataclass
class HeldAnswer:
    callback_id: str
    text: str | None = None


_held: ContextVar[HeldAnswer | None] = ContextVar("held_answer", default=None)


@contextmanager
def answer_held(callback_id: str) -> Iterator[HeldAnswer]:
    """Within the block, the handlers' answer to `callback_id` is kept (its text in the HeldAnswer yielded)
    instead of sent: the caller answers once it knows how the press went."""
    token = _held.set(HeldAnswer(callback_id))
    try:
        yield _held.get()
    finally:
        _held.reset(token)


def answer_callback(bot: TeleBot, callback_id: str, text: str | None = None, *, url: str | None = None) -> None:
    """Stop the button's spinner. Telegram refuses answers to presses older than a few minutes
    (e.g. queued while the bot restarted); that must not stop the screen from being shown."""
    held = _held.get()
    if held is not None and held.callback_id == callback_id:
        held.text = text
        return
    try:
        bot.answer_callback_query(callback_id, text=text, url=url)
    except ApiTelegramException as exc:
        log.info("could not answer callback %s: %s", callback_id, exc.description)


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
