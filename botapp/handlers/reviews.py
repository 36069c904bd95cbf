"""Reviews: a product's review list, and its buyer rating it (1-5 buttons) then, optionally, writing a short
text as their next message (Skip, any command, or any other button ends the wait).

Who may review is the shop's decision (shop.reviews.services): the buttons only offer it.
"""

from telebot import TeleBot
from telebot.types import CallbackQuery, Message

from botapp import callbacks, screens, texts
from botapp.handlers.common import card_screen, catalog_screen, show_in_place
from botapp.handlers.fallback import CONTENT_TYPES
from botapp.render import answer_callback, show
from botapp.waits import end_waits
from shop.models import Product
from shop.reviews.models import TEXT_MAX_LENGTH
from shop.reviews.selectors import rating_summary, review_list_visible, review_of, review_wait_accepts
from shop.reviews.services import (
    ReviewNotAllowed,
    ReviewTextEmpty,
    ReviewTextTooLong,
    review_rate,
    review_text_save,
    review_wait_cancel,
    review_wait_start,
)
from shop.selectors.catalog import product_get_for_user

PRIVATE = ["private"]


def _product(bot: TeleBot, call: CallbackQuery, parsed: callbacks.Parsed) -> Product | None:
    """The product pressed for (on sale, or owned by the customer); None after showing the catalog instead."""
    product = product_get_for_user(product_id=parsed.id, telegram_id=call.from_user.id)
    if product is None:
        notice = texts.no_longer_available()
        show_in_place(bot, call, catalog_screen(notice=notice), notice)
    return product


def on_reviews(call: CallbackQuery, bot: TeleBot) -> None:
    parsed = callbacks.parse(call.data)
    product = _product(bot, call, parsed)
    if product is None:
        return
    page = screens.reviews_paginate(review_list_visible(product_id=product.pk), parsed.page)
    summary = rating_summary(product_id=product.pk)
    show_in_place(bot, call, screens.reviews_page(product, page, summary, parsed.back))


def on_rate(call: CallbackQuery, bot: TeleBot) -> None:
    """The 1-5 buttons, for a buyer (with their current rating, if they rated before)."""
    parsed = callbacks.parse(call.data)
    product = _product(bot, call, parsed)
    if product is None:
        return
    if not product.owned:
        answer_callback(bot, call.id, texts.review_not_allowed())
        return
    review = review_of(telegram_id=call.from_user.id, product_id=product.pk)
    show_in_place(bot, call, screens.rate_prompt(product, current=review.rating if review else None, back=parsed.back))


def on_rate_set(call: CallbackQuery, bot: TeleBot) -> None:
    """A rating chosen (also from the invitation): saved at once; the next message may add the text."""
    parsed = callbacks.parse(call.data)
    try:  # the shop decides who may (a buyer, also of a product off sale now); the review comes with its product
        review = review_rate(telegram_id=call.from_user.id, product_id=parsed.id, rating=parsed.rating)
    except ReviewNotAllowed:
        answer_callback(bot, call.id, texts.review_not_allowed())
        return
    end_waits(call.from_user.id, but="review")  # one thing at a time waits for their message
    review_wait_start(telegram_id=call.from_user.id, product_id=review.product_id)
    show_in_place(bot, call, screens.rated(review.product, review, back=parsed.back, limit=TEXT_MAX_LENGTH))


def on_skip(call: CallbackQuery, bot: TeleBot) -> None:
    """No text (or keep the one written before): back to the card, which shows the rating."""
    parsed = callbacks.parse(call.data)
    review_wait_cancel(telegram_id=call.from_user.id)
    product = _product(bot, call, parsed)
    if product is None:
        return
    show_in_place(bot, call, card_screen(product, back=parsed.back), texts.review_thanks())


def _is_command(message: Message) -> bool:
    return any(e.type == "bot_command" and e.offset == 0 for e in message.entities or [])


def awaited_as_review(message: Message) -> bool:
    """The customer has just rated a product and this is their next message (a command never is)."""
    return message.from_user is not None and not _is_command(message) and review_wait_accepts(telegram_id=message.from_user.id)


def on_review_text(message: Message, bot: TeleBot) -> None:
    """The review's text: saved, or the customer is told what to fix (the wait goes on)."""
    if message.content_type != "text":
        bot.send_message(message.chat.id, texts.review_text_only())
        return
    try:
        review = review_text_save(telegram_id=message.from_user.id, text=message.text)
    except ReviewTextTooLong as too_long:
        bot.send_message(message.chat.id, texts.review_too_long(too_long.length, TEXT_MAX_LENGTH))
        return
    except ReviewTextEmpty:
        bot.send_message(message.chat.id, texts.review_empty())
        return
    except ReviewNotAllowed:
        show(bot, message.chat.id, screens.main_menu(texts.review_not_allowed()))
        return
    if review is None:  # the wait ran out as the message came
        show(bot, message.chat.id, screens.main_menu())
        return
    show(bot, message.chat.id, screens.review_saved(review.product))


ROUTES = {"reviews": on_reviews, "rate": on_rate, "rate_set": on_rate_set, "review_skip": on_skip}


def register(bot: TeleBot) -> None:
    for action, handler in ROUTES.items():
        bot.register_callback_query_handler(handler, func=callbacks.action_is(action), pass_bot=True)
    bot.register_message_handler(
        on_review_text, func=awaited_as_review, content_types=CONTENT_TYPES, chat_types=PRIVATE, pass_bot=True
    )
