"""Small pieces several handlers share."""

from telebot.types import User as TelegramUser

from shop import services
from shop.models import User


def sync_sender(sender: TelegramUser) -> User:
    """The customer behind an update, created or brought up to date from what Telegram says."""
    return services.user_sync_from_telegram(
        telegram_id=sender.id,
        username=sender.username,
        first_name=sender.first_name,
        last_name=sender.last_name,
        language_code=sender.language_code,
    )
