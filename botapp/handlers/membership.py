"""`my_chat_member`: a customer blocked or unblocked the bot in their private chat."""

from telebot import TeleBot
from telebot.types import ChatMemberUpdated

from botapp import tasks
from shop.services.customers import user_set_blocked

GONE = {"kicked", "left"}


def on_my_chat_member(update: ChatMemberUpdated, bot: TeleBot) -> None:
    if update.chat.type != "private":
        return
    blocked = update.new_chat_member.status in GONE
    user_set_blocked(telegram_id=update.from_user.id, blocked=blocked)
    if not blocked:
        # Reachable again: hand over what could not be delivered while the bot was blocked.
        tasks.schedule_undelivered_for(telegram_id=update.from_user.id)


def register(bot: TeleBot) -> None:
    bot.register_my_chat_member_handler(on_my_chat_member, pass_bot=True)
