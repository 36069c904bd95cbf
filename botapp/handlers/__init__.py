"""All handlers, registered in one place. Order matters: the first matching handler wins."""

from telebot import TeleBot

from botapp.handlers import commands, fallback, membership, navigation


def register_handlers(bot: TeleBot) -> None:
    commands.register(bot)
    navigation.register(bot)
    membership.register(bot)
    fallback.register(bot)  # last: catches whatever nothing else understood
