"""Small pieces several handlers share: the sender as a customer, and the screens more than one handler shows."""

from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.utils import translation
from telebot import TeleBot
from telebot.types import CallbackQuery
from telebot.types import User as TelegramUser

from botapp import callbacks, screens
from botapp.access_screens import access_card_for
from botapp.render import answer_callback, show
from shop.models import BotText, Product, User
from shop.promotions.selectors import promo_card_state
from shop.promotions.services import promo_applied_offer
from shop.reviews.selectors import rating_summary
from shop.selectors.catalog import catalog_version, category_get_on_sale, category_list_on_sale, product_list_on_sale
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


def show_in_place(bot: TeleBot, call: CallbackQuery, screen: screens.Screen, notice: str | None = None) -> None:
    """Answer the press, then show `screen` in place of the message the button was under."""
    # A button under a message the bot can no longer see arrives without that message.
    message = call.message if call.message and getattr(call.message, "date", 0) else None
    answer_callback(bot, call.id, notice)
    show(
        bot,
        message.chat.id if message else call.from_user.id,
        screen,
        message_id=message.message_id if message else None,
        on_photo=bool(message and message.content_type == "photo"),
    )


# Screens that are the same for every customer, cached under the catalog's version: a change bumps
# it, so nobody sees an old screen; this only bounds how long unused ones take space in the cache.
SCREEN_CACHE_SECONDS = 600


def cached_screen(kind: str, *key, build: Callable[[], screens.Screen | None]) -> screens.Screen | None:
    """`build()`'s screen, from the cache while the catalog has not changed (None is not cached)."""
    cache_key = f"screen:{kind}:{catalog_version()}:{translation.get_language()}:{':'.join(map(str, key))}"
    screen = cache.get(cache_key)
    if screen is None:
        screen = build()
        if screen is not None:
            cache.set(cache_key, screen, SCREEN_CACHE_SECONDS)
    return screen


def catalog_screen(page_number: int = 1, notice: str = "") -> screens.Screen:
    if notice:  # one with a notice is shown rarely: not worth a place in the cache
        return screens.catalog(screens.page(category_list_on_sale(), page_number), notice=notice)
    return cached_screen(
        "catalog", page_number, build=lambda: screens.catalog(screens.page(category_list_on_sale(), page_number))
    )


def category_screen(category_id: int, page_number: int = 1) -> screens.Screen | None:
    """A category's page of products on sale; None if the category has none on sale (or is gone)."""

    def build() -> screens.Screen | None:
        category = category_get_on_sale(category_id=category_id)
        if category is None:
            return None
        return screens.category(category, screens.page(product_list_on_sale(category_id=category.id), page_number))

    return cached_screen("category", category_id, page_number, build=build)


def support_can_write() -> bool:
    """Someone reads what customers write to support."""
    return bool(settings.ADMIN_IDS)


def info_screen(key: str) -> screens.Screen:
    """Help, terms or payment support, in the language of the update; help and payment support say how to
    reach a person."""
    screen = screens.info(key, bot_text_get(key=key, language=translation.get_language()))
    if key == BotText.Key.TERMS:
        return screen
    return screens.with_support(screen, can_write=support_can_write(), contact=settings.SHOP_SUPPORT_CONTACT)


def card_screen(
    product: Product, *, back: callbacks.Back = callbacks.CATALOG_BACK, quantity: int = 1, telegram_id: int | None = None
) -> screens.Screen:
    """A product's card (`product` annotated with `owned`); for one sold from stock, with what is left; for
    the customer `telegram_id`, with their promo code's price (or the way to enter one); for one that opens a
    chat, with `telegram_id`'s access (botapp.access_screens)."""
    if telegram_id is not None and getattr(product, "gives_chat_access", False):
        screen = access_card_for(product, telegram_id=telegram_id, back=back)
        if screen is not None:  # with its reviews too, as any card
            summary = rating_summary(product_id=product.pk)
            return screens.with_reviews(screen, product_id=product.pk, summary=summary, back=back, can_rate=product.owned)
    available = None
    if product.sells_units:
        # counted only as far as the card shows it, or the most one order may take
        available = stock_available_count(product_id=product.pk, up_to=max(product.stock_shown_up_to, product.max_per_order) + 1)
    promo = card_promo(product, telegram_id=telegram_id, available=available) if telegram_id else None
    screen = screens.product_card(product, owned=product.owned, back=back, available=available, quantity=quantity, promo=promo)
    # reviews: the rating under the name, Reviews and (for its buyer) Rate above Back
    summary = rating_summary(product_id=product.pk)
    return screens.with_reviews(screen, product_id=product.pk, summary=summary, back=back, can_rate=product.owned)


def card_promo(product: Product, *, telegram_id: int, available: int | None) -> screens.PromoView | None:
    """The card's promo code part: only for a product the customer can buy now at a price."""
    buyable = product.is_active and product.price > 0 and (available is None or available > 0)
    if not buyable or (product.owned and not product.sells_units):
        return None
    applied_id, offered = promo_card_state(telegram_id=telegram_id)
    if applied_id is None:
        return screens.PromoView(ask=offered)
    offer, refused = promo_applied_offer(telegram_id=telegram_id, product=product)
    return screens.PromoView(offer=offer, refused=refused, ask=True)
