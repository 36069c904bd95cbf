"""Inline mode: `@<bot> words` in any chat lists products on sale (an empty query: the best sellers); choosing
one posts its public card with a button into the shop. Results are the same for everyone (no personal
content ever), so Telegram may cache them briefly for all users."""

import re

from telebot import TeleBot
from telebot.types import InlineQuery

from botapp.search_screens import inline_result
from shop.search.selectors import product_best_sellers, product_search

RESULTS_PER_ANSWER = 20  # Telegram takes at most 50
CACHE_SECONDS = 60
MAX_OFFSET = 1000
_OFFSET = re.compile(r"[0-9]{1,4}")


def _offset(value: str | None) -> int:
    """The offset we gave as next_offset; anything else (a client may send any string) is the start."""
    if value and _OFFSET.fullmatch(value):
        return min(int(value), MAX_OFFSET)
    return 0


def on_inline_query(query: InlineQuery, bot: TeleBot) -> None:
    offset = _offset(query.offset)
    found = product_search(text=query.query) if query.query.strip() else product_best_sellers()
    products = list(found[offset : offset + RESULTS_PER_ANSWER + 1])
    more = len(products) > RESULTS_PER_ANSWER and offset + RESULTS_PER_ANSWER < MAX_OFFSET
    username = bot.user.username  # asked of Telegram once per bot, then kept
    bot.answer_inline_query(
        query.id,
        [inline_result(product, bot_username=username) for product in products[:RESULTS_PER_ANSWER]],
        cache_time=CACHE_SECONDS,
        is_personal=False,
        next_offset=str(offset + RESULTS_PER_ANSWER) if more else "",
    )


def register(bot: TeleBot) -> None:
    bot.register_inline_handler(on_inline_query, func=lambda query: True, pass_bot=True)
