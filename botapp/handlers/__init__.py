"""All handlers, registered in one place. Order matters: the first matching handler wins."""

from telebot import TeleBot

from botapp.handlers import access, buying, commands, fallback, membership, navigation, staff, support


def register_handlers(bot: TeleBot) -> None:
    access.register(bot)  # before buying: a Buy press on a chat's subscription takes Telegram's invoice link
    buying.register(bot)  # first: payment service messages must never reach another handler
    commands.register(bot)
    support.register(bot)  # before staff: a staff member's reply to a customer, or their own message to support
    staff.register(bot)
    navigation.register(bot)
    membership.register(bot)
    fallback.register(bot)  # last: catches whatever nothing else understood
