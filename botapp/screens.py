"""What the bot shows: each screen is text plus inline keyboard, built from the data it is given."""

from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from telebot.types import InlineKeyboardButton, InlineKeyboardMarkup

from botapp import callbacks, texts
from shop.models import DESCRIPTION_MAX_LENGTH, BotText, Category
from shop.telegram_html import escape, visible_length, visible_text

PAGE_SIZE = 8


@dataclass
class Screen:
    text: str
    markup: InlineKeyboardMarkup | None = None


def page(items: QuerySet, number: int = 1) -> Page:
    """One page of `items` for a screen (out-of-range numbers give the nearest page)."""
    return Paginator(items, PAGE_SIZE).get_page(number)


def _button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=data)


def _keyboard(rows: list[list[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    markup = InlineKeyboardMarkup()
    for row in rows:
        markup.row(*row)
    return markup


def _pager_row(page, make_data) -> list[InlineKeyboardButton]:
    row = []
    if page.has_previous():
        row.append(_button(texts.button_previous(), make_data(page.previous_page_number())))
    if page.has_next():
        row.append(_button(texts.button_next(), make_data(page.next_page_number())))
    return row


def main_menu(text: str | None = None) -> Screen:
    return Screen(
        text or texts.main_menu(),
        _keyboard(
            [
                [_button(texts.button_catalog(), callbacks.catalog())],
                [_button(texts.button_purchases(), callbacks.purchases())],
                [_button(texts.button_help(), callbacks.help_())],
            ]
        ),
    )


def catalog(page: Page, notice: str = "") -> Screen:
    """`page`: categories on sale, each with `on_sale_count`."""
    prefix = f"{notice}\n\n" if notice else ""
    if not page.object_list:
        return Screen(prefix + texts.catalog_empty(), _keyboard([[_button(texts.button_menu(), callbacks.menu())]]))
    rows = [
        [_button(texts.category_button(c.category_name, c.on_sale_count), callbacks.category(c.id))] for c in page.object_list
    ]
    rows += [_pager_row(page, callbacks.catalog), [_button(texts.button_menu(), callbacks.menu())]]
    return Screen(prefix + texts.catalog(page.number, page.paginator.num_pages), _keyboard(rows))


def category(category: Category, page: Page) -> Screen:
    """`page`: the category's products on sale."""
    back = callbacks.Back("category", category.id, page.number)
    rows = [[_button(texts.product_button(p), callbacks.product(p.id, back))] for p in page.object_list]
    rows += [
        _pager_row(page, lambda n: callbacks.category(category.id, n)),
        [_button(texts.button_back(), callbacks.catalog())],
    ]
    return Screen(texts.category(category.category_name, page.number, page.paginator.num_pages), _keyboard(rows))


def _back_data(back: callbacks.Back) -> str:
    if back.kind == "category":
        return callbacks.category(back.id, back.page)
    if back.kind == "purchases":
        return callbacks.purchases(back.page)
    return callbacks.catalog()


def product_card(
    product, *, owned: bool, back: callbacks.Back = callbacks.CATALOG_BACK, available: int | None = None, quantity: int = 1
) -> Screen:
    """`available`: for a product sold from stock, the units on sale (None otherwise); `quantity`: chosen."""
    text = texts.product_card(product, owned=owned, available=available)
    if visible_length(text) > texts.MESSAGE_LIMIT:
        # Only data that bypassed the admin's validation gets here: show it plain, shortened.
        plain = escape(texts.shorten(visible_text(product.description), DESCRIPTION_MAX_LENGTH))
        text = texts.product_card(product, owned=owned, description=plain, available=available)
    rows = []
    if owned:
        rows.append([_button(texts.button_open(), callbacks.open_(product.pk))])
    if available is None:
        if not owned and product.is_active:
            rows.append([_button(texts.button_buy(product), callbacks.buy(product.pk))])
    elif product.is_active:
        rows += _stock_rows(product, available, quantity, back)
    rows.append([_button(texts.button_back(), _back_data(back))])
    return Screen(text, _keyboard(rows))


def _stock_rows(product, available: int, quantity: int, back: callbacks.Back) -> list[list[InlineKeyboardButton]]:
    """Sold out: a "notify me" button. Else the quantity (fewer, n, more; up to stock and the order limit) and Buy."""
    if available <= 0:
        return [[_button(texts.button_notify(), callbacks.notify(product.pk))]]
    most = min(available, product.max_per_order) if product.price else 1
    quantity = max(1, min(quantity, most))
    rows = []
    if most > 1:
        rows.append(
            [
                _button(texts.button_fewer(), callbacks.quantity(product.pk, max(quantity - 1, 1), back)),
                _button(texts.quantity_label(quantity), callbacks.noop()),
                _button(texts.button_more(), callbacks.quantity(product.pk, min(quantity + 1, most), back)),
            ]
        )
    rows.append([_button(texts.button_buy(product, quantity), callbacks.buy(product.pk, quantity))])
    return rows


def after_content() -> InlineKeyboardMarkup:
    """Under a delivery (and Open): back to My purchases or the menu."""
    return _keyboard([[_button(texts.button_purchases(), callbacks.purchases()), _button(texts.button_menu(), callbacks.menu())]])


def purchases(page: Page) -> Screen:
    """`page`: the customer's purchases, each with its product."""
    if not page.object_list:
        return Screen(
            texts.purchases_empty(),
            _keyboard(
                [
                    [_button(texts.button_catalog(), callbacks.catalog())],
                    [_button(texts.button_menu(), callbacks.menu())],
                ]
            ),
        )
    back = callbacks.Back("purchases", page=page.number)
    rows = [
        [
            _button(
                texts.access_purchase_button(p)
                if getattr(p, "access_state", None)  # a chat's access: its state (shop.access)
                else texts.purchase_button(p.product.name, texts.short_date(p.created_at)),
                callbacks.product(p.product_id, back),
            )
        ]
        for p in page.object_list
    ]
    rows += [_pager_row(page, callbacks.purchases), [_button(texts.button_menu(), callbacks.menu())]]
    return Screen(texts.purchases(page.paginator.count, page.number, page.paginator.num_pages), _keyboard(rows))


_DEFAULT_TEXTS = {
    BotText.Key.HELP: texts.help_default,
    BotText.Key.TERMS: texts.terms_default,
    BotText.Key.PAYSUPPORT: texts.paysupport_default,
}


def info(key: str, staff_text: str | None) -> Screen:
    """Help, terms or payment support: the staff's text if they wrote one, else the built-in one."""
    text = staff_text or _DEFAULT_TEXTS[key]()
    return Screen(text, _keyboard([[_button(texts.button_menu(), callbacks.menu())]]))


# --- Support ---


def _support_button() -> InlineKeyboardButton:
    return _button(texts.button_write_to_support(), callbacks.support())


def with_support(screen: Screen, *, can_write: bool, contact: str) -> Screen:
    """`screen` (help, payment support, "not understood") with the way to reach a person: the Write to support
    button when staff can answer, the shop's contact when set and the text does not name it already."""
    contact = "" if escape(contact) in screen.text else contact
    hint = texts.support_hint(can_write=can_write, contact=contact)
    text = screen.text
    if hint and visible_length(f"{text}\n\n{hint}") <= texts.MESSAGE_LIMIT:
        text = f"{text}\n\n{hint}"
    rows = list(screen.markup.inline_keyboard) if screen.markup else []
    if can_write:
        back_to_menu = bool(rows) and rows[-1][0].callback_data == callbacks.menu()
        at = len(rows) - 1 if back_to_menu else len(rows)  # « Menu stays last
        rows.insert(at, [_support_button()])
    return Screen(text, _keyboard(rows) if rows else None)


def not_understood(*, can_write: bool, contact: str) -> Screen:
    return with_support(main_menu(texts.not_understood()), can_write=can_write, contact=contact)


def support_prompt() -> Screen:
    return Screen(texts.support_prompt(), _keyboard([[_button(texts.button_cancel(), callbacks.support_cancel())]]))


def support_done(text: str) -> Screen:
    """After writing to support (or cancelling): what happened, and the main menu."""
    return main_menu(text)


def write_to_support_markup() -> InlineKeyboardMarkup:
    """The button under a staff member's answer: the customer can write back."""
    return _keyboard([[_support_button()]])
