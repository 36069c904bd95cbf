"""`my_chat_member`: a customer blocked or unblocked the bot in their private chat."""

from telebot import TeleBot
from telebot.types import ChatMemberUpdated

from shop import services

GONE = {"kicked", "left"}


def on_my_chat_member(update: ChatMemberUpdated, bot: TeleBot) -> None:
    if update.chat.type != "private":
        return
    services.user_set_blocked(telegram_id=update.from_user.id, blocked=update.new_chat_member.status in GONE)


def register(bot: TeleBot) -> None:
    bot.register_my_chat_member_handler(on_my_chat_member, pass_bot=True)
