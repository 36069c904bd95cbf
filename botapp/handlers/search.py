"""Search: the menu's 🔍 Search asks for words; any text that is not a command, and that no other question
was waiting for, is searched for. Results come a page at a time as buttons to the cards; the query stays on
the server (shop.search), so the pager's buttons carry only its key."""

from telebot import TeleBot
from telebot.types import CallbackQuery, Message

from botapp import callbacks, screens, search_screens, texts
from botapp.handlers.common import catalog_screen, show_in_place
from botapp.render import show
from shop.search.selectors import product_search_page, saved_search_text
from shop.search.services import saved_search_keep, saved_search_key
from shop.search.words import query_clean, query_words

PRIVATE = ["private"]


def results_screen(*, key: int, query: str, page_number: int = 1) -> tuple[screens.Screen, bool]:
    """A page of what `query` finds, and whether it found anything (if not: a message and the catalog)."""
    page = product_search_page(text=query, number=page_number, per_page=screens.PAGE_SIZE, fields=("id", "name", "price"))
    if not page.paginator.count:
        return catalog_screen(notice=texts.search_nothing_found(query)), False
    return search_screens.search_results(page, query=query, key=key), True


def is_search(message: Message) -> bool:
    """Plain text with a word in it: not a command, not a message posted through inline mode (a shared card)."""
    return (
        bool(message.text)
        and message.via_bot is None
        and not any(e.type == "bot_command" and e.offset == 0 for e in message.entities or [])
        and bool(query_words(message.text))
    )


def on_text(message: Message, bot: TeleBot) -> None:
    query = query_clean(message.text)
    key = saved_search_key(query)
    screen, found = results_screen(key=key, query=query)
    if found:  # its pages and its cards' Back find the words by the key; nothing found needs no write
        saved_search_keep(text=query)
    show(bot, message.chat.id, screen)


def posted_inline(message: Message) -> bool:
    """Posted through a bot's inline mode (a card shared from this shop, say): not a question for us."""
    return message.via_bot is not None


def on_posted_inline(message: Message, bot: TeleBot) -> None:
    """Nothing to answer."""


def on_search(call: CallbackQuery, bot: TeleBot) -> None:
    show_in_place(bot, call, search_screens.search_prompt())


def on_search_page(call: CallbackQuery, bot: TeleBot) -> None:
    parsed = callbacks.parse(call.data)
    query = saved_search_text(key=parsed.id)
    if query is None:
        show_in_place(bot, call, search_screens.search_prompt(notice=texts.search_expired()))
        return
    show_in_place(bot, call, results_screen(key=parsed.id, query=query, page_number=parsed.page)[0])


def register_buttons(bot: TeleBot) -> None:
    """Before navigation: its last handler takes any button nobody else knows."""
    bot.register_callback_query_handler(on_search, func=callbacks.action_is("search"), pass_bot=True)
    bot.register_callback_query_handler(on_search_page, func=callbacks.action_is("search_page"), pass_bot=True)


def register(bot: TeleBot) -> None:
    """Last but the fallback: text that every handler waiting for an answer has passed on."""
    bot.register_message_handler(on_posted_inline, func=posted_inline, content_types=["text"], chat_types=PRIVATE, pass_bot=True)
    bot.register_message_handler(on_text, func=is_search, content_types=["text"], chat_types=PRIVATE, pass_bot=True)
