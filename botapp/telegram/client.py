"""The Bot API client alone: configuration, the HTTP sender, and one bare client per process.

Background tasks, broadcasts and refunds talk to Telegram through `api_client()`; only polling and
the webhook need the bot with its handlers (botapp.bot.create_bot).
"""

import functools
import re
from collections.abc import Callable

from django.conf import settings
from telebot import TeleBot, apihelper

from botapp.telegram.http import ApiSender

TOKEN_RE = re.compile(r"^[0-9]{1,20}:[A-Za-z0-9_-]{1,100}$")


class BotConfigError(Exception):
    """The bot cannot start with the current settings; the message says what to change."""


def check_token(token: str) -> str:
    if not token:
        raise BotConfigError(
            "TELEGRAM_BOT_TOKEN is not set: get a token from @BotFather in Telegram "
            "and put TELEGRAM_BOT_TOKEN=<token> in .env (see .env.example)."
        )
    if not TOKEN_RE.match(token):
        raise BotConfigError(
            "TELEGRAM_BOT_TOKEN does not look like a bot token (expected 123456789:ABC-xyz...). Copy it again from @BotFather."
        )
    return token


def check_payment_settings() -> None:
    if settings.SHOP_CURRENCY != "XTR" and not settings.PAYMENT_PROVIDER_TOKEN:
        raise BotConfigError(
            f"SHOP_CURRENCY is {settings.SHOP_CURRENCY}, which needs a payment provider: set PAYMENT_PROVIDER_TOKEN "
            "(@BotFather → your bot → Payments), or use SHOP_CURRENCY=XTR for Telegram Stars."
        )


def configure_api(api_url: str) -> None:
    """Point telebot at the Bot API server (Telegram's, a self-hosted one, or a test fake)."""
    apihelper.API_URL = f"{api_url}/bot{{0}}/{{1}}"
    apihelper.FILE_URL = f"{api_url}/file/bot{{0}}/{{1}}"
    apihelper.READ_TIMEOUT = settings.TELEGRAM_TIMEOUT
    apihelper.CONNECT_TIMEOUT = min(settings.TELEGRAM_TIMEOUT, 15)
    sender = apihelper.CUSTOM_REQUEST_SENDER
    if not isinstance(sender, ApiSender) or sender.api_url != api_url:
        apihelper.CUSTOM_REQUEST_SENDER = ApiSender(api_url)


def new_client(token: str | None = None) -> TeleBot:
    """A Bot API client for the configured server, with no handlers."""
    token = check_token(settings.TELEGRAM_BOT_TOKEN if token is None else token)
    configure_api(settings.TELEGRAM_API_URL)
    # threaded=False: our own poller and the webhook decide on which thread an update runs.
    return TeleBot(token, threaded=False, parse_mode="HTML")


def one_per_process(build: Callable[[str], TeleBot]) -> Callable[[], TeleBot]:
    """`build(token)` made once per process, on first use, and again if the settings change (as in tests)."""

    @functools.lru_cache(maxsize=1)
    def built_for(token: str, api_url: str) -> TeleBot:
        return build(token)

    def get() -> TeleBot:
        configure_api(settings.TELEGRAM_API_URL)  # telebot's API address is process-wide
        return built_for(settings.TELEGRAM_BOT_TOKEN, settings.TELEGRAM_API_URL)

    return get


# One bare client per process: background tasks, broadcasts and refunds.
api_client = one_per_process(new_client)
