"""What search and sharing show: the prompt, a page of results, and a product's card as posted into any chat
through inline mode (public: the card only, never the hidden content, nothing about the sender)."""

from django.core.paginator import Page
from telebot.types import InlineKeyboardButton, InlineKeyboardMarkup, InlineQueryResultArticle, InputTextMessageContent

from botapp import callbacks, texts
from botapp.screens import Screen
from shop.models import DESCRIPTION_MAX_LENGTH, Product
from shop.telegram_html import escape, visible_length, visible_text

INLINE_DESCRIPTION_LIMIT = 100  # the grey line under a result's title


def _keyboard(rows: list[list[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    markup = InlineKeyboardMarkup()
    for row in rows:
        if row:
            markup.row(*row)
    return markup


def _button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=data)


def _menu_row() -> list[InlineKeyboardButton]:
    return [_button(texts.button_menu(), callbacks.menu())]


def search_prompt(notice: str = "") -> Screen:
    prefix = f"{notice}\n\n" if notice else ""
    rows = [[_button(texts.button_catalog(), callbacks.catalog())], _menu_row()]
    return Screen(prefix + texts.search_prompt(), _keyboard(rows))


def search_results(page: Page, *, query: str, key: int) -> Screen:
    """`page`: products found for `query` (kept under `key`), as buttons to their cards."""
    back = callbacks.Back("search", key, page.number)
    rows = [[_button(texts.product_button(p), callbacks.product(p.id, back))] for p in page.object_list]
    pager = []
    if page.has_previous():
        pager.append(_button(texts.button_previous(), callbacks.search_page(key, page.previous_page_number())))
    if page.has_next():
        pager.append(_button(texts.button_next(), callbacks.search_page(key, page.next_page_number())))
    rows += [pager, [_button(texts.button_new_search(), callbacks.search())], _menu_row()]
    text = texts.search_results(query, page.paginator.count, page.number, page.paginator.num_pages)
    return Screen(text, _keyboard(rows))


def product_link(product: Product, bot_username: str) -> str:
    """Opens the product's card in the chat with the bot (/start p<id>, botapp/handlers/commands.py)."""
    return f"https://t.me/{bot_username}?start=p{product.pk}"


def shared_card(product: Product, *, bot_username: str) -> Screen:
    """The card as anyone may see it: name, description, price; and a button into the shop."""
    text = texts.product_card(product, owned=False)
    if visible_length(text) > texts.MESSAGE_LIMIT:  # only data that bypassed the admin's validation
        plain = escape(texts.shorten(visible_text(product.description), DESCRIPTION_MAX_LENGTH))
        text = texts.product_card(product, owned=False, description=plain)
    button = InlineKeyboardButton(texts.button_open_in_shop(), url=product_link(product, bot_username))
    return Screen(text, _keyboard([[button]]))


def inline_result(product: Product, *, bot_username: str, thumbnail_url: str | None = None) -> InlineQueryResultArticle:
    """One product among inline results: its name, price and a line of its description; choosing it posts
    its shared card. `thumbnail_url`: a public URL of the product's picture, if it has one."""
    card = shared_card(product, bot_username=bot_username)
    about = " ".join(visible_text(product.description).split())
    description = texts.price_or_free(product) + (f" · {about}" if about else "")
    return InlineQueryResultArticle(
        id=f"p{product.pk}",
        title=product.name,
        description=texts.shorten(description, INLINE_DESCRIPTION_LIMIT),
        input_message_content=InputTextMessageContent(card.text, parse_mode="HTML"),
        reply_markup=card.markup,
        thumbnail_url=thumbnail_url,
    )
