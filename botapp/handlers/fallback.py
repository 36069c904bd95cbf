"""Anything the bot does not understand gets a short, helpful answer and the menu."""

from telebot import TeleBot, util
from telebot.types import Message

from botapp import screens, texts
from botapp.render import show

# Payments have handlers of their own; never answer one with "not understood".
CONTENT_TYPES = [t for t in util.content_type_media if t not in ("successful_payment", "invoice")]


def on_anything_else(message: Message, bot: TeleBot) -> None:
    show(bot, message.chat.id, screens.main_menu(texts.not_understood()))


def register(bot: TeleBot) -> None:
    bot.register_message_handler(
        on_anything_else,
        func=lambda message: True,
        content_types=CONTENT_TYPES,
        chat_types=["private"],
        pass_bot=True,
    )
