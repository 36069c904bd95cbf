"""Small pieces several handlers share: the sender as a customer, and the screens more than one handler shows."""

from django.utils import translation
from telebot.types import User as TelegramUser

from botapp import callbacks, screens
from shop.models import Product, User
from shop.selectors.catalog import category_list_on_sale
from shop.selectors.content import bot_text_get
from shop.services.customers import user_sync_from_telegram
from shop.stock.selectors import stock_available_count


def sync_sender(sender: TelegramUser) -> User:
    """The customer behind an update, created or brought up to date from what Telegram says."""
    return user_sync_from_telegram(
        telegram_id=sender.id,
        username=sender.username,
        first_name=sender.first_name,
        last_name=sender.last_name,
        language_code=sender.language_code,
    )


def catalog_screen(page_number: int = 1, notice: str = "") -> screens.Screen:
    return screens.catalog(screens.page(category_list_on_sale(), page_number), notice=notice)


def info_screen(key: str) -> screens.Screen:
    """Help, terms or payment support, in the language of the update."""
    return screens.info(key, bot_text_get(key=key, language=translation.get_language()))


def card_screen(product: Product, *, back: callbacks.Back = callbacks.CATALOG_BACK, quantity: int = 1) -> screens.Screen:
    """A product's card (`product` annotated with `owned`); for one sold from stock, with what is left."""
    available = None
    if product.sells_units:
        # counted only as far as the card shows it, or the most one order may take
        available = stock_available_count(product_id=product.pk, up_to=max(product.stock_shown_up_to, product.max_per_order) + 1)
    return screens.product_card(product, owned=product.owned, back=back, available=available, quantity=quantity)
