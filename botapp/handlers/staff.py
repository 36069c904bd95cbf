"""Staff (ADMIN_IDS) sending the bot a file: they get its kind and file id back, to paste into a product."""

from django.conf import settings
from telebot import TeleBot
from telebot.types import Message

from botapp import texts

FILES = ["document", "photo", "video", "audio", "voice", "animation"]


def is_staff(message: Message) -> bool:
    return message.from_user is not None and message.from_user.id in settings.ADMIN_IDS


def on_staff_file(message: Message, bot: TeleBot) -> None:
    kind = message.content_type
    media = message.photo[-1] if kind == "photo" else getattr(message, kind)  # a photo: its largest size
    bot.reply_to(message, texts.file_id_of_kind(kind, media.file_id))


def register(bot: TeleBot) -> None:
    bot.register_message_handler(on_staff_file, content_types=FILES, func=is_staff, chat_types=["private"], pass_bot=True)
