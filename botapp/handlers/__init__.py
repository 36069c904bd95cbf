"""All handlers, registered in one place. Order matters: the first matching handler wins."""

from telebot import TeleBot

from botapp.handlers import (
    access,
    buying,
    commands,
    fallback,
    inline,
    membership,
    navigation,
    promotions,
    reviews,
    search,
    staff,
    support,
)


def register_handlers(bot: TeleBot) -> None:
    access.register(bot)  # before buying: a Buy press on a chat's subscription takes Telegram's invoice link
    buying.register(bot)  # first: payment service messages must never reach another handler
    commands.register(bot)
    support.register(bot)  # before staff: a staff member's reply to a customer, or their own message to support
    promotions.register(bot)  # after support: a message support waits for goes there
    staff.register(bot)
    reviews.register(bot)  # before navigation (its catch-all for unknown buttons); after support (its wait wins)
    search.register_buttons(bot)  # before navigation, whose last handler takes any unknown button
    navigation.register(bot)
    membership.register(bot)
    inline.register(bot)
    search.register(bot)  # free text nothing else was waiting for is a search
    fallback.register(bot)  # last: catches whatever nothing else understood
