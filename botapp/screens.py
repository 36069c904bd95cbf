"""What the bot shows: each screen is text plus inline keyboard, built from the data it is given."""

from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from telebot.types import InlineKeyboardButton, InlineKeyboardMarkup

from botapp import callbacks, texts
from shop.models import DESCRIPTION_MAX_LENGTH, BotText, Category
from shop.money import format_price
from shop.promotions.services import Offer, PromoRefused
from shop.telegram_html import escape, visible_length, visible_text

PAGE_SIZE = 8


@dataclass(frozen=True)
class Picture:
    """A photo a screen is shown as (its text the caption): a category's or product's picture in storage,
    and the id Telegram gave it once uploaded ("" before: botapp/pictures.py finds it or uploads it)."""

    owner: str  # "category" or "product" (shop.services.pictures.PICTURE_OWNERS)
    owner_id: int
    name: str  # in the default file storage
    file_id: str = ""


@dataclass
class Screen:
    text: str
    markup: InlineKeyboardMarkup | None = None
    picture: Picture | None = None


def fits_caption(text: str) -> bool:
    """Whether `text` may be a photo's caption; a longer screen is shown as text, without its picture."""
    return visible_length(text) <= texts.CAPTION_LIMIT


def _picture(owner: str, row, text: str) -> Picture | None:
    """`row`'s picture for a screen with `text`, if it has one and the text fits its caption."""
    if not row.picture or not fits_caption(text):
        return None
    return Picture(owner, row.pk, row.picture.name, row.picture_file_id)


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
                [_button(texts.button_search(), callbacks.search())],
                [_button(texts.button_purchases(), callbacks.purchases())],
                [_button(texts.button_invite(), callbacks.invite())],
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
    text = texts.category(category.category_name, page.number, page.paginator.num_pages)
    return Screen(text, _keyboard(rows), _picture("category", category, text))


def _back_data(back: callbacks.Back) -> str:
    if back.kind == "category":
        return callbacks.category(back.id, back.page)
    if back.kind == "purchases":
        return callbacks.purchases(back.page)
    if back.kind == "search":
        return callbacks.search_page(back.id, back.page)
    return callbacks.catalog()


def product_card(
    product,
    *,
    owned: bool,
    back: callbacks.Back = callbacks.CATALOG_BACK,
    available: int | None = None,
    quantity: int = 1,
    promo: "PromoView | None" = None,
) -> Screen:
    """`available`: for a product sold from stock, the units on sale (None otherwise); `quantity`: chosen;
    `promo`: the customer's promo code on this card (shop.promotions)."""
    text = texts.product_card(product, owned=owned, available=available)
    if visible_length(text) > texts.MESSAGE_LIMIT:
        # Only data that bypassed the admin's validation gets here: show it plain, shortened.
        plain = escape(texts.shorten(visible_text(product.description), DESCRIPTION_MAX_LENGTH))
        text = texts.product_card(product, owned=owned, description=plain, available=available)
    if promo is not None and promo.line:
        text += "\n" + promo.line
    rows = []
    if owned:
        rows.append([_button(texts.button_open(), callbacks.open_(product.pk))])
    if available is None:
        if not owned and product.is_active:
            rows.append([_button(texts.button_buy(product), callbacks.buy(product.pk))])
    elif product.is_active:
        rows += _stock_rows(product, available, quantity, back)
    if promo is not None:
        rows = _promo_rows(product, rows, promo, quantity)
    rows.append([_button(texts.button_back(), _back_data(back))])
    return Screen(text, _keyboard(rows), _picture("product", product, text))


@dataclass(frozen=True)
class PromoView:
    """A card's promo code: the offer of the code the customer applied, or why it does not apply; and whether
    to show «Have a promo code?»."""

    offer: Offer | None = None
    refused: PromoRefused | None = None
    ask: bool = False

    @property
    def line(self) -> str:
        if self.offer is not None:
            old = format_price(self.offer.list_price, self.offer.currency)
            if self.offer.free:
                return texts.promo_free_line(self.offer.code.code, old)
            return texts.promo_price_line(self.offer.code.code, old, format_price(self.offer.price, self.offer.currency))
        if self.refused is not None:
            return texts.promo_not_here(self.refused.code, self.refused.reason)
        return ""


def _promo_rows(product, rows: list, promo: PromoView, quantity: int) -> list[list[InlineKeyboardButton]]:
    """The Buy button at the code's price; «Have a promo code?» under it."""
    for row in rows:
        for i, button in enumerate(row):
            parsed = callbacks.parse(button.callback_data)
            if promo.offer is not None and parsed is not None and parsed.action == "buy":
                offer = promo.offer
                text = (
                    texts.button_get_free() if offer.free else texts.button_buy_at(offer.price, offer.currency, parsed.quantity)
                )
                row[i] = _button(text, button.callback_data)
    if promo.ask:
        rows.append([_button(texts.button_promo(), callbacks.promo(product.pk))])
    return rows


def promo_prompt(product) -> Screen:
    return Screen(
        texts.promo_prompt(product.name), _keyboard([[_button(texts.button_cancel(), callbacks.promo_cancel(product.pk))]])
    )


def promo_refused(product, refused: PromoRefused) -> Screen:
    """A typed code that does not apply: why, another try, or back to the card."""
    return Screen(
        texts.promo_refused(refused.code, refused.reason),
        _keyboard(
            [
                [_button(texts.button_promo_again(), callbacks.promo(product.pk))],
                [_button(texts.button_back(), callbacks.product(product.pk))],
            ]
        ),
    )


def invite(link: str, *, joined: int, bought: int, percent: int, days: int) -> Screen:
    text = texts.invite(link, joined=joined, bought=bought, percent=percent, days=days)
    return Screen(text, _keyboard([[_button(texts.button_menu(), callbacks.menu())]]))


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


# --- Reviews ---

REVIEWS_PAGE_SIZE = 5  # reviews of up to 500 characters each: a page stays well within a message


def reviews_paginate(items: QuerySet, number: int = 1) -> Page:
    return Paginator(items, REVIEWS_PAGE_SIZE).get_page(number)


def with_reviews(screen: Screen, *, product_id: int, summary, back: callbacks.Back, can_rate: bool) -> Screen:
    """A product card with its rating under the name ("★ 4.7 (23)"), a Reviews button when there are any, and
    Rate for its buyer (both above Back). `summary`: the product's RatingSummary, or None."""
    as_photo = screen.picture is not None and fits_caption(screen.text)
    text = card_with_rating(screen.text, summary, as_photo=as_photo)
    rows = list(screen.markup.inline_keyboard) if screen.markup else []
    added = []
    if summary is not None:
        added.append([_button(texts.button_reviews(summary.count), callbacks.reviews(product_id, 1, back))])
    if can_rate:
        added.append([_button(texts.button_rate(), callbacks.rate(product_id, back))])
    at = max(len(rows) - 1, 0)  # « Back stays last
    return Screen(text, _keyboard(rows[:at] + added + rows[at:]), screen.picture if as_photo else None)


def card_with_rating(text: str, summary, *, as_photo: bool) -> str:
    """A card's text with the rating line under the name, if that still fits: the caption of its photo when
    shown `as_photo` (the picture matters more than the line), else a message."""
    if summary is None:
        return text
    name, _sep, rest = text.partition("\n")
    rated = f"{name}\n{texts.rating_line(summary.average, summary.count)}\n{rest}"
    fits = fits_caption(rated) if as_photo else visible_length(rated) <= texts.MESSAGE_LIMIT
    return rated if fits else text


def reviews_page(product, page: Page, summary, back: callbacks.Back) -> Screen:
    """`page`: the product's visible reviews, latest first, each with its `user`."""
    card = _button(texts.button_back(), callbacks.product(product.pk, back))
    if not page.object_list:
        return Screen(texts.reviews_empty(product.name), _keyboard([[card]]))
    average, count = (summary.average, summary.count) if summary else (None, 0)
    text = texts.reviews(product.name, average, count, page.number, page.paginator.num_pages)
    for r in page.object_list:  # as many as one message holds (the texts' limit makes that all of them)
        longer = text + "\n\n" + texts.review_entry(r.rating, r.user.first_name, texts.short_date(r.created_at), r.text)
        if visible_length(longer) > texts.MESSAGE_LIMIT:
            break
        text = longer
    rows = [_pager_row(page, lambda n: callbacks.reviews(product.pk, n, back)), [card]]
    return Screen(text, _keyboard(rows))


def _rating_row(product_id: int, back: callbacks.Back) -> list[InlineKeyboardButton]:
    return [_button(texts.button_rating(n), callbacks.rate_set(product_id, n, back)) for n in range(1, 6)]


def rate_prompt(product, *, current: int | None, back: callbacks.Back) -> Screen:
    return Screen(
        texts.rate_prompt(product.name, current),
        _keyboard([_rating_row(product.pk, back), [_button(texts.button_back(), callbacks.product(product.pk, back))]]),
    )


def rated(product, review, *, back: callbacks.Back, limit: int) -> Screen:
    """After the rating: the text is awaited in the next message; Skip keeps the review as it is."""
    return Screen(
        texts.rated(product.name, review.rating, has_text=bool(review.text), limit=limit),
        _keyboard([[_button(texts.button_skip(), callbacks.review_skip(product.pk, back))]]),
    )


def review_saved(product) -> Screen:
    view = _button(texts.button_view_product(), callbacks.product(product.pk))
    return Screen(texts.review_saved(product.name), _keyboard([[view, _button(texts.button_menu(), callbacks.menu())]]))


def review_invitation(product) -> Screen:
    """A day after delivery: one tap rates the product."""
    return Screen(texts.review_invitation(product.name), _keyboard([_rating_row(product.pk, callbacks.CATALOG_BACK)]))
