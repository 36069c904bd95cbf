"""Small pieces several handlers share: the sender as a customer, and the screens more than one handler shows."""

from django.conf import settings
from django.utils import translation
from telebot import TeleBot
from telebot.types import CallbackQuery
from telebot.types import User as TelegramUser

from botapp import screens
from botapp.render import answer_callback, show
from shop.models import BotText, User
from shop.selectors.catalog import category_list_on_sale
from shop.selectors.content import bot_text_get
from shop.services.customers import user_sync_from_telegram


def sync_sender(sender: TelegramUser) -> User:
    """The customer behind an update, created or brought up to date from what Telegram says."""
    return user_sync_from_telegram(
        telegram_id=sender.id,
        username=sender.username,
        first_name=sender.first_name,
        last_name=sender.last_name,
        language_code=sender.language_code,
    )


def show_in_place(bot: TeleBot, call: CallbackQuery, screen: screens.Screen, notice: str | None = None) -> None:
    """Answer the press, then show `screen` in place of the message the button was under."""
    # A button under a message the bot can no longer see arrives without that message.
    message = call.message if call.message and getattr(call.message, "date", 0) else None
    answer_callback(bot, call.id, notice)
    show(
        bot,
        message.chat.id if message else call.from_user.id,
        screen,
        message_id=message.message_id if message else None,
    )


def catalog_screen(page_number: int = 1, notice: str = "") -> screens.Screen:
    return screens.catalog(screens.page(category_list_on_sale(), page_number), notice=notice)


def support_can_write() -> bool:
    """Someone reads what customers write to support."""
    return bool(settings.ADMIN_IDS)


def info_screen(key: str) -> screens.Screen:
    """Help, terms or payment support, in the language of the update; help and payment support say how to
    reach a person."""
    screen = screens.info(key, bot_text_get(key=key, language=translation.get_language()))
    if key == BotText.Key.TERMS:
        return screen
    return screens.with_support(screen, can_write=support_can_write(), contact=settings.SHOP_SUPPORT_CONTACT)
