"""All handlers, registered in one place. Order matters: the first matching handler wins."""

from telebot import TeleBot

from botapp.handlers import buying, commands, fallback, membership, navigation, promotions, reviews, staff, support


def register_handlers(bot: TeleBot) -> None:
    buying.register(bot)  # first: payment service messages must never reach another handler
    commands.register(bot)
    support.register(bot)  # before staff: a staff member's reply to a customer, or their own message to support
    promotions.register(bot)  # after support: a message support waits for goes there
    staff.register(bot)
    reviews.register(bot)  # before navigation (its catch-all for unknown buttons); after support (its wait wins)
    navigation.register(bot)
    membership.register(bot)
    fallback.register(bot)  # last: catches whatever nothing else understood
