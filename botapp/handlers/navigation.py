"""Inline buttons that move between screens: each action has its handler, chosen by its callback data.

Every press is parsed and validated (botapp/callbacks.py), answered, and edits the message in place.
Data that is malformed or stale gets the catalog with a notice.
"""

from telebot import TeleBot
from telebot.types import CallbackQuery

from botapp import callbacks, screens, texts
from botapp.handlers.common import card_screen, catalog_screen, category_screen, info_screen, show_in_place
from botapp.render import answer_callback
from shop.models import BotText
from shop.selectors.catalog import product_get_for_user
from shop.selectors.purchases import purchase_page_for_user


def _gone(bot: TeleBot, call: CallbackQuery) -> None:
    notice = texts.no_longer_available()
    show_in_place(bot, call, catalog_screen(notice=notice), notice)


def on_menu(call: CallbackQuery, bot: TeleBot) -> None:
    show_in_place(bot, call, screens.main_menu())


def on_help(call: CallbackQuery, bot: TeleBot) -> None:
    show_in_place(bot, call, info_screen(BotText.Key.HELP))


def on_catalog(call: CallbackQuery, bot: TeleBot) -> None:
    show_in_place(bot, call, catalog_screen(callbacks.parse(call.data).page))


def on_purchases(call: CallbackQuery, bot: TeleBot) -> None:
    page = purchase_page_for_user(
        telegram_id=call.from_user.id, number=callbacks.parse(call.data).page, per_page=screens.PAGE_SIZE
    )
    show_in_place(bot, call, screens.purchases(page))


def on_category(call: CallbackQuery, bot: TeleBot) -> None:
    parsed = callbacks.parse(call.data)
    screen = category_screen(parsed.id, parsed.page)
    if screen is None:
        _gone(bot, call)
        return
    show_in_place(bot, call, screen)


def on_product(call: CallbackQuery, bot: TeleBot) -> None:
    """A product's card; also fewer or more on a card sold from stock (the quantity is kept within limits there)."""
    parsed = callbacks.parse(call.data)
    product = product_get_for_user(product_id=parsed.id, telegram_id=call.from_user.id)
    if product is None:
        _gone(bot, call)
        return
    show_in_place(bot, call, card_screen(product, back=parsed.back, quantity=parsed.quantity, telegram_id=call.from_user.id))


def on_noop(call: CallbackQuery, bot: TeleBot) -> None:
    answer_callback(bot, call.id)


def on_unknown(call: CallbackQuery, bot: TeleBot) -> None:
    """Malformed data, or a button of an older version of the bot."""
    _gone(bot, call)


ROUTES = {
    "menu": on_menu,
    "help": on_help,
    "catalog": on_catalog,
    "purchases": on_purchases,
    "category": on_category,
    "product": on_product,
    "quantity": on_product,
    "noop": on_noop,
}


def register(bot: TeleBot) -> None:
    for action, handler in ROUTES.items():
        bot.register_callback_query_handler(handler, func=callbacks.action_is(action), pass_bot=True)
    bot.register_callback_query_handler(on_unknown, func=lambda call: True, pass_bot=True)  # last
