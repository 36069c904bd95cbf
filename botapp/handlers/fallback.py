"""Anything the bot does not understand gets a short, helpful answer: the menu, /help, and support."""

from django.conf import settings
from telebot import TeleBot, util
from telebot.types import Message

from botapp import screens
from botapp.handlers.common import support_can_write
from botapp.render import show

# Payments have handlers of their own; never answer one with "not understood".
CONTENT_TYPES = [t for t in util.content_type_media if t not in ("successful_payment", "invoice")]


def on_anything_else(message: Message, bot: TeleBot) -> None:
    show(bot, message.chat.id, screens.not_understood(can_write=support_can_write(), contact=settings.SHOP_SUPPORT_CONTACT))


def register(bot: TeleBot) -> None:
    bot.register_message_handler(
        on_anything_else,
        func=lambda message: True,
        content_types=CONTENT_TYPES,
        chat_types=["private"],
        pass_bot=True,
    )
