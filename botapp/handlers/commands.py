"""Slash commands: /start (with deep links), /catalog, /purchases, /help, /paysupport, /terms."""

import functools
import re

from telebot import TeleBot
from telebot.types import Message

from botapp import screens, texts
from botapp.handlers.common import card_screen, catalog_screen, info_screen, sync_sender
from botapp.handlers.promotions import start_link
from botapp.render import show
from botapp.waits import end_waits
from shop.models import BotText
from shop.selectors.catalog import product_get_for_user
from shop.selectors.purchases import purchase_page_for_user

PRIVATE = ["private"]
PRODUCT_DEEP_LINK = re.compile(r"p([1-9][0-9]{0,17})")


def on_start(message: Message, bot: TeleBot) -> None:
    sender = message.from_user
    if start_link(message, bot, (message.text or "").partition(" ")[2].strip()):  # promo code, referral
        return
    sync_sender(sender)
    payload = (message.text or "").partition(" ")[2].strip()
    match = PRODUCT_DEEP_LINK.fullmatch(payload)
    if match:
        product = product_get_for_user(product_id=int(match[1]), telegram_id=sender.id)
        if product is not None:
            show(bot, message.chat.id, card_screen(product, telegram_id=sender.id))
        else:
            show(bot, message.chat.id, catalog_screen(notice=texts.no_longer_available()))
        return
    show(bot, message.chat.id, screens.main_menu(texts.welcome(sender.first_name) + "\n\n" + texts.main_menu()))


def on_catalog(message: Message, bot: TeleBot) -> None:
    show(bot, message.chat.id, catalog_screen())


def on_purchases(message: Message, bot: TeleBot) -> None:
    page = purchase_page_for_user(telegram_id=message.from_user.id, number=1, per_page=screens.PAGE_SIZE)
    show(bot, message.chat.id, screens.purchases(page))


def _info(key: str):
    def handler(message: Message, bot: TeleBot) -> None:
        show(bot, message.chat.id, info_screen(key))

    return handler


def _ending_support_wait(handler):
    """A command means the customer moved on: «Write to support» no longer waits for their message."""

    @functools.wraps(handler)
    def handle(message: Message, bot: TeleBot) -> None:
        end_waits(message.from_user.id)  # nor «Have a promo code?», nor a rating for its review's text
        handler(message, bot)

    return handle


def register(bot: TeleBot) -> None:
    handlers = {"start": on_start, "catalog": on_catalog, "purchases": on_purchases}
    handlers |= {key.value: _info(key) for key in BotText.Key}
    for name, handler in handlers.items():
        bot.register_message_handler(_ending_support_wait(handler), commands=[name], chat_types=PRIVATE, pass_bot=True)
