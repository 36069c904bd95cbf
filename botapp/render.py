"""Putting a screen in the chat: edit the message in place when there is one, else send."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from telebot import TeleBot
from telebot.apihelper import ApiTelegramException

from botapp.pictures import PictureMissing, delete_quietly, edit_into_photo_screen, send_photo_screen
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


def show(bot: TeleBot, chat_id: int, screen: Screen, *, message_id: int | None = None, on_photo: bool = False) -> None:
    """Put `screen` in the chat: in place of message `message_id` if given (`on_photo`: that message is a
    photo), else as a new message. The chat keeps one message for the screen, whether it is text or a photo."""
    if screen.picture is not None:
        try:
            _show_photo(bot, chat_id, screen, message_id)
            return
        except (ApiTelegramException, PictureMissing) as exc:
            # Not OSError: requests' network errors are OSErrors, and a photo sent but answered late must not
            # be sent again as text (two cards); such errors go up as any other call's do.
            if isinstance(exc, ApiTelegramException) and exc.error_code != 400:
                raise
            # The picture's file is gone from storage, or Telegram refused the photo: the text still shows.
            log.warning("could not show the picture %s in chat %s: %s", screen.picture.name, chat_id, exc)
            screen = Screen(screen.text, screen.markup)
    if message_id is not None and on_photo:
        # Telegram cannot edit a photo into a text message: the text is sent and the photo deleted.
        bot.send_message(chat_id, screen.text, reply_markup=screen.markup)
        delete_quietly(bot, chat_id, message_id)
        return
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


def _show_photo(bot: TeleBot, chat_id: int, screen: Screen, message_id: int | None) -> None:
    """A screen with a picture: the message's media replaced by it (a text message gets the photo added, as
    editMessageMedia allows), or, where Telegram will not edit it, sent anew and the old message deleted."""
    if message_id is not None:
        try:
            edit_into_photo_screen(bot, chat_id, message_id, screen)
            return
        except ApiTelegramException as exc:
            if "message is not modified" in (exc.description or ""):
                return
            if exc.error_code != 400:
                raise
            log.info("could not edit message %s in chat %s into a photo: %s", message_id, chat_id, exc.description)
    send_photo_screen(bot, chat_id, screen)
    if message_id is not None:
        delete_quietly(bot, chat_id, message_id)
