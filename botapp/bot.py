"""The bot: the Bot API client with every handler registered. Polling and the webhook use it; nothing at import."""

import functools

from django.conf import settings
from telebot import TeleBot

from botapp.handlers import register_handlers
from botapp.telegram.client import configure_api, new_client

# Update kinds the shop handles; Telegram remembers the last list a bot asked for.
ALLOWED_UPDATES = ["message", "callback_query", "pre_checkout_query", "my_chat_member"]


def create_bot(token: str | None = None) -> TeleBot:
    bot = new_client(token)
    register_handlers(bot)
    return bot


@functools.lru_cache(maxsize=1)
def _bot_for(token: str, api_url: str) -> TeleBot:
    return create_bot(token)


def shared_bot() -> TeleBot:
    """One bot per process for the webhook, built on first use (and again if the settings change, as in tests)."""
    configure_api(settings.TELEGRAM_API_URL)  # telebot's API address is process-wide
    return _bot_for(settings.TELEGRAM_BOT_TOKEN, settings.TELEGRAM_API_URL)
