"""Everything the bot says, in one place. Called while the user's language is active."""

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from shop.models import Product
from shop.money import format_price
from shop.telegram_html import escape

# Telegram's limits (https://core.telegram.org/bots/api)
MESSAGE_LIMIT = 4096
BUTTON_TEXT_LIMIT = 60


def language_for(language_code: str | None) -> str:
    """Russian for Russian-speaking users, English for everyone else."""
    return "ru" if (language_code or "").lower().startswith("ru") else "en"


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def welcome(first_name: str) -> str:
    about = _("This is a shop of digital goods: pay in Telegram and get your purchase at once.")
    if not first_name:
        return _("Hello! 👋") + "\n\n" + about
    return _("Hello, %(name)s! 👋") % {"name": escape(first_name)} + "\n\n" + about


def main_menu() -> str:
    return _("What would you like to do?")


def button_catalog() -> str:
    return _("🛍 Catalog")


def button_purchases() -> str:
    return _("📦 My purchases")


def button_help() -> str:
    return _("❔ Help")


def button_back() -> str:
    return _("« Back")


def button_menu() -> str:
    return _("« Menu")


def button_next() -> str:
    return _("Next »")


def button_previous() -> str:
    return _("« Previous")


def catalog(page: int, pages: int) -> str:
    text = _("🛍 <b>Catalog</b>\nChoose a category:")
    return text + page_suffix(page, pages)


def catalog_empty() -> str:
    return _("🛍 The catalog is empty for now. Please come back later.")


def category(name: str, page: int, pages: int) -> str:
    return _("<b>%(category)s</b>\nChoose a product:") % {"category": escape(name)} + page_suffix(page, pages)


def page_suffix(page: int, pages: int) -> str:
    if pages <= 1:
        return ""
    return "\n\n" + _("Page %(page)d of %(pages)d") % {"page": page, "pages": pages}


def category_button(name: str, count: int) -> str:
    return shorten(f"{name} ({count})", BUTTON_TEXT_LIMIT)


def product_button(product: Product) -> str:
    """ "Name · ⭐ 120" (the name shortened, never the price), as every product button reads."""
    price = format_price(product.price, product.currency) if product.price else _("free")
    suffix = f" · {price}"
    return shorten(product.name, BUTTON_TEXT_LIMIT - len(suffix)) + suffix


def product_card(product: Product, *, owned: bool, description: str | None = None, available: int | None = None) -> str:
    """The card's HTML; `description` replaces the product's own (already valid HTML).

    `available`: for a product sold from stock, the units on sale (counted up to what the card shows).
    """
    description = product.description if description is None else description
    lines = [f"<b>{escape(product.name)}</b>"]
    if description:
        lines += ["", description]
    price = format_price(product.price, product.currency) if product.price else _("Free")
    lines += ["", _("Price: %(price)s") % {"price": price}]
    if available is not None and product.is_active:
        lines.append(stock_line(available, shown_up_to=product.stock_shown_up_to))
    if owned and available is not None:
        lines += ["", _("✅ You have bought this before: 📂 Open shows what you received.")]
    elif owned:
        lines += ["", _("✅ You own this product.")]
    elif not product.is_active:
        lines += ["", _("This product is no longer on sale.")]
    return "\n".join(lines)


def stock_line(available: int, *, shown_up_to: int) -> str:
    if available <= 0:
        return _("❌ Sold out")
    if available > shown_up_to:
        return _("📦 In stock")
    return _("📦 In stock: %(n)d") % {"n": available}


def purchases(count: int, page: int, pages: int) -> str:
    text = ngettext(
        "📦 <b>My purchases</b>\nYou have %(count)d purchase. Tap one to open it:",
        "📦 <b>My purchases</b>\nYou have %(count)d purchases. Tap one to open it:",
        count,
    ) % {"count": count}
    return text + page_suffix(page, pages)


def purchases_empty() -> str:
    return _("📦 You have not bought anything yet.\nHave a look at the catalog: something may catch your eye.")


def purchase_button(product_name: str, date: str) -> str:
    return shorten(f"{product_name} · {date}", BUTTON_TEXT_LIMIT)


def no_longer_available() -> str:
    return _("Sorry, this is no longer available.")


def not_understood() -> str:
    return _("Sorry, I did not understand that. Please use the buttons below.")


def help_default() -> str:
    return _(
        "❔ <b>Help</b>\n\n"
        "• <b>Catalog</b>: browse categories and products.\n"
        "• <b>My purchases</b>: everything you bought, available at any time.\n\n"
        "Payment support: /paysupport\nTerms of sale: /terms"
    )


def terms_default() -> str:
    return _(
        "📄 <b>Terms of sale</b>\n\n"
        "You buy digital goods that are delivered in this chat right after payment. "
        "Each purchase stays available under My purchases."
    )


def paysupport_default() -> str:
    text = _("💬 <b>Payment support</b>\n\nEverything you paid for is under My purchases and can be opened again at any time.")
    contact = settings.SHOP_SUPPORT_CONTACT
    if contact:
        text += "\n\n" + _(
            "If a payment is missing there or something else went wrong, write to %(contact)s with the date and the amount."
        ) % {"contact": escape(contact)}
    return text


def command_descriptions() -> dict[str, str]:
    """Bot menu commands (names are [a-z0-9_], descriptions 1-256 chars)."""
    return {
        "start": _("Main menu"),
        "catalog": _("Browse the catalog"),
        "purchases": _("My purchases"),
        "help": _("Help"),
        "paysupport": _("Payment support"),
        "terms": _("Terms of sale"),
    }


def slow_down() -> str:
    return _("You are going too fast: please wait a few seconds before the next request.")


def something_went_wrong() -> str:
    return _("Sorry, something went wrong on our side. Please try again in a moment.")


# --- Buying ---


def button_buy(product: Product, quantity: int = 1) -> str:
    if not product.price:
        return _("🎁 Get it free")
    price = format_price(product.price * quantity, product.currency)
    if quantity > 1:
        return _("Buy %(n)d for %(price)s") % {"n": quantity, "price": price}
    return _("Buy for %(price)s") % {"price": price}


def button_fewer() -> str:
    return "➖"


def button_more() -> str:
    return "➕"


def quantity_label(quantity: int) -> str:
    return _("%(n)d pcs") % {"n": quantity}


def button_view_product() -> str:
    return _("🛍 View")


def button_notify() -> str:
    return _("🔔 Notify me when it is back")


def notify_added() -> str:
    return _("🔔 Done: we will message you when it is back in stock.")


def notify_already() -> str:
    return _("🔔 You are on the list already: we will message you when it is back.")


def units_heading(count: int) -> str:
    return ngettext("🔑 Your item:", "🔑 Your %(n)d items:", count) % {"n": count}


def unit_code(content: str) -> str:
    """A unit ready to copy: one tap on <code> copies it in Telegram."""
    return f"<code>{escape(content)}</code>"


def unit_line(number: int, content: str, *, numbered: bool) -> str:
    return f"{number}. {unit_code(content)}" if numbered else unit_code(content)


def units_in_file(count: int) -> str:
    return ngettext("🔑 Your item is in the file below.", "🔑 Your %(n)d items are in the file below.", count) % {"n": count}


def out_of_stock_refunded(product_name: str, price: str) -> str:
    return _("😔 Sorry: <b>%(product)s</b> sold out while you were paying. Your payment of %(price)s has been refunded.") % {
        "product": escape(product_name),
        "price": price,
    }


def out_of_stock_refund_pending(product_name: str) -> str:
    return _(
        "😔 Sorry: <b>%(product)s</b> sold out while you were paying. Staff have been told and will refund your payment shortly."
    ) % {"product": escape(product_name)}


def button_open() -> str:
    return _("📂 Open")


def already_owned() -> str:
    return _("You already own this product.")


def checkout_refusal(reason: str) -> str:
    return {
        "invalid": _("This invoice is not valid. Please open the product again and press Buy."),
        "not_yours": _("This invoice was made for another customer. Open the product and press Buy to get your own."),
        "unavailable": _("Sorry, this product is no longer on sale. Nothing was charged."),
        "price_changed": _("The price has changed since this invoice was made. Open the product again to see the new price."),
        "already_owned": _("You already own this product: find it under My purchases. Nothing was charged."),
        "sold_out": _("Sorry, there is not enough left in stock for this order. Nothing was charged."),
    }[reason]


def delivery_heading(product_name: str) -> str:
    return _("🎉 Thank you for your purchase! Here is <b>%(product)s</b>:") % {"product": escape(product_name)}


def reopen_heading(product_name: str) -> str:
    return _("📂 <b>%(product)s</b>") % {"product": escape(product_name)}


def payment_under_review() -> str:
    return _("✅ Payment received. Staff need to check it before your purchase is handed over; you will receive it here shortly.")


def delivery_delayed() -> str:
    return _(
        "✅ Payment received. Telegram is slow to deliver your purchase right now: it will arrive here shortly, "
        "and it is already under My purchases."
    )


def delivery_needs_staff() -> str:
    return _(
        "✅ Payment received. Something is wrong with this product's content, and staff have been told: "
        "they will send it to you here shortly."
    )


def refunded_notice(product_name: str) -> str:
    return _("Your payment for <b>%(product)s</b> was refunded.") % {"product": escape(product_name)}


def file_id_for_staff(file_id: str) -> str:
    return _("File id, ready to paste into the product's «Telegram file id» field:\n<code>%(file_id)s</code>") % {
        "file_id": escape(file_id)
    }
