"""Screens shown as a photo (a category's or product's picture, the screen's text as its caption).

The first send uploads the picture from storage; Telegram's id for it is then kept (in the database, and in
the cache for screens cached before it was known) and sent instead of the file ever after.
"""

import io
import logging
import os

from django.core.cache import cache
from django.core.files.storage import default_storage
from telebot import TeleBot
from telebot.apihelper import ApiTelegramException
from telebot.types import InputFile, InputMediaPhoto

from botapp.screens import Picture, Screen
from shop.services.pictures import picture_forget_file_id, picture_set_file_id

log = logging.getLogger(__name__)

FILE_ID_CACHE_SECONDS = 24 * 60 * 60  # longer than a cached screen lives


def _file_id_key(picture: Picture) -> str:
    return f"picture-file-id:{picture.owner}:{picture.owner_id}:{picture.name}"


def _known_file_id(picture: Picture) -> str:
    """Telegram's id for the picture: the screen's, or one learnt after the screen was cached."""
    return picture.file_id or cache.get(_file_id_key(picture)) or ""


def _remember(picture: Picture, message) -> None:
    """Keep the id Telegram gave the picture just uploaded (a photo's largest size)."""
    photo = getattr(message, "photo", None)
    if not photo:
        return
    file_id = photo[-1].file_id
    picture_set_file_id(owner=picture.owner, owner_id=picture.owner_id, picture_name=picture.name, file_id=file_id)
    cache.set(_file_id_key(picture), file_id, FILE_ID_CACHE_SECONDS)


class PictureMissing(Exception):
    """The picture's file could not be read from storage (deleted, or the storage is down)."""


def _with_media(picture: Picture, call):
    """`call(media)` with the picture's id if Telegram has it, else with its file uploaded (the id then kept).

    An id Telegram no longer takes (ids belong to one bot: the shop moved to a new bot token) is forgotten
    and the picture uploaded again."""
    file_id = _known_file_id(picture)
    if file_id:
        try:
            return call(file_id)
        except ApiTelegramException as exc:
            if exc.error_code != 400 or "file identifier" not in (exc.description or ""):
                raise
            log.info("Telegram refused the id of picture %s (%s): uploading it again", picture.name, exc.description)
            cache.delete(_file_id_key(picture))
            picture_forget_file_id(owner=picture.owner, owner_id=picture.owner_id, file_id=file_id)
    try:
        with default_storage.open(picture.name, "rb") as stored:  # small: resized when staff uploaded it
            content = io.BytesIO(stored.read())
    except OSError as exc:  # only the storage's: a network error of the Bot API must not look like this
        raise PictureMissing(f"{picture.name}: {exc}") from exc
    message = call(InputFile(content, file_name=os.path.basename(picture.name)))
    _remember(picture, message)
    return message


def send_photo_screen(bot: TeleBot, chat_id: int, screen: Screen) -> None:
    _with_media(screen.picture, lambda media: bot.send_photo(chat_id, media, caption=screen.text, reply_markup=screen.markup))


def edit_into_photo_screen(bot: TeleBot, chat_id: int, message_id: int, screen: Screen) -> None:
    """Replace the message's content (a photo's, or a text's: Telegram adds the photo) with the screen."""
    _with_media(
        screen.picture,
        lambda media: bot.edit_message_media(
            InputMediaPhoto(media, caption=screen.text, parse_mode="HTML"), chat_id, message_id, reply_markup=screen.markup
        ),
    )


def delete_quietly(bot: TeleBot, chat_id: int, message_id: int) -> None:
    """Delete a message the bot replaced; one Telegram no longer lets it delete (too old) just stays."""
    try:
        bot.delete_message(chat_id, message_id)
    except ApiTelegramException as exc:
        log.info("could not delete message %s in chat %s: %s", message_id, chat_id, exc.description)
