"""The bot: the Bot API client with every handler registered. Polling and the webhook use it; nothing at import."""

from telebot import TeleBot

from botapp.handlers import register_handlers
from botapp.telegram.client import new_client, one_per_process

# Update kinds the shop handles; Telegram remembers the last list a bot asked for.
ALLOWED_UPDATES = ["message", "callback_query", "pre_checkout_query", "my_chat_member", "inline_query", "chat_join_request"]


def create_bot(token: str | None = None) -> TeleBot:
    bot = new_client(token)
    register_handlers(bot)
    return bot


# One bot per process for the webhook.
shared_bot = one_per_process(create_bot)
