"""Inline buttons: every press is parsed, validated and answered, and edits the message in place."""

from django.utils import translation
from telebot import TeleBot
from telebot.types import CallbackQuery

from botapp import callbacks, screens, texts
from botapp.handlers import buying
from botapp.render import answer_callback, show
from shop import selectors
from shop.models import BotText


def on_button(call: CallbackQuery, bot: TeleBot) -> None:
    parsed = callbacks.parse(call.data)
    user_id = call.from_user.id
    # A button under a message the bot can no longer see arrives without that message.
    message = call.message if call.message and getattr(call.message, "date", 0) else None
    chat_id = message.chat.id if message else user_id
    message_id = message.message_id if message else None

    if parsed is not None and parsed.action in ("buy", "open"):
        (buying.on_buy if parsed.action == "buy" else buying.on_open)(call, bot, parsed.id)
        return

    notice = ""
    if parsed is None:
        notice = texts.no_longer_available()
        screen = screens.catalog(notice=notice)
    elif parsed.action == "noop":
        answer_callback(bot, call.id)
        return
    elif parsed.action == "menu":
        screen = screens.main_menu()
    elif parsed.action == "help":
        screen = screens.info(BotText.Key.HELP, translation.get_language())
    elif parsed.action == "catalog":
        screen = screens.catalog(parsed.page)
    elif parsed.action == "purchases":
        screen = screens.purchases(telegram_id=user_id, page_number=parsed.page)
    elif parsed.action == "category":
        category = selectors.category_get_on_sale(category_id=parsed.id)
        if category is None:
            notice = texts.no_longer_available()
            screen = screens.catalog(notice=notice)
        else:
            screen = screens.category(category, parsed.page)
    else:  # "product"
        product = selectors.product_get_for_user(product_id=parsed.id, telegram_id=user_id)
        if product is None:
            notice = texts.no_longer_available()
            screen = screens.catalog(notice=notice)
        else:
            screen = screens.product_card(product, owned=product.owned, back=parsed.back)

    answer_callback(bot, call.id, notice or None)
    show(bot, chat_id, screen, message_id=message_id)


def register(bot: TeleBot) -> None:
    bot.register_callback_query_handler(on_button, func=lambda call: True, pass_bot=True)
