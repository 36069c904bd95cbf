"""Everything the bot says, in one place. Called while the user's language is active."""

import datetime

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from shop.models import FileKind, Product, Purchase, User
from shop.money import format_price
from shop.telegram_html import escape

# Telegram's limits (https://core.telegram.org/bots/api)
MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024  # a photo's caption, after its HTML is parsed
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
    return _("Sorry, I did not understand that. Please use the buttons below, or see /help.")


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


def back_in_stock(product: Product) -> str:
    price = format_price(product.price, product.currency) if product.price else _("free")
    return _("🔔 Back in stock: <b>%(product)s</b> · %(price)s") % {"product": escape(product.name), "price": price}


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
        "promo_refused": _(
            "Sorry, this promo code can no longer be used (it ran out or expired). Nothing was charged: "
            "open the product again to buy it."
        ),
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


# --- Chat access (shop.access) ---


def access_state(membership, *, subscription: bool) -> str:
    """A member's access as the card shows it: for good, renewing, until a date, or ended."""
    if membership.state == "ended":
        return _("Your access ended on %(date)s.") % {"date": short_date(membership.ended_at)}
    if membership.for_good:
        return _("✅ You are a member for good.")
    if subscription and membership.renewing:
        return _("✅ Active: renews on %(date)s.") % {"date": short_date(membership.paid_until)}
    return _("✅ Active until %(date)s.") % {"date": short_date(membership.paid_until)}


def access_purchase_button(purchase) -> str:
    """A chat's access in My purchases: "Club · renews 2 Jan 2026", "· until …", "· for good", "· ended"."""
    if purchase.access_state == "ended":
        suffix = _("ended")
    elif purchase.access_for_good:
        suffix = _("for good")
    elif purchase.access_renewing:
        suffix = _("renews %(date)s") % {"date": short_date(purchase.access_until)}
    else:
        suffix = _("until %(date)s") % {"date": short_date(purchase.access_until)}
    suffix = f" · {suffix}"
    return shorten(purchase.product.name, BUTTON_TEXT_LIMIT - len(suffix)) + suffix


def subscription_terms(price: str) -> str:
    return _("%(price)s a month, renewed by Telegram every 30 days; cancel the renewal any time.") % {"price": price}


def button_subscribe(price: str) -> str:
    return _("⭐ Subscribe for %(price)s a month") % {"price": price}


def subscribe_prompt(product_name: str, price: str) -> str:
    return _(
        "Subscribe to <b>%(product)s</b> for %(price)s a month. Telegram renews it every 30 days; "
        "you can cancel the renewal under My purchases at any time."
    ) % {"product": escape(product_name), "price": price}


def button_pay(price: str) -> str:
    return _("Pay %(price)s") % {"price": price}


def access_heading(product_name: str) -> str:
    return _("🎉 Thank you! Your access to <b>%(product)s</b> is ready.") % {"product": escape(product_name)}


def access_join_request_hint() -> str:
    return _(
        "Press the button below and ask to join: the bot lets you in at once. The link expires within a day; "
        "you can get a new one under My purchases."
    )


def access_invite_hint() -> str:
    return _(
        "Press the button below to join. The link lets one person in and expires within a day: do not share it. "
        "You can get a new one under My purchases."
    )


def access_trial_note(chat_title: str) -> str:
    return _(
        "🧪 A test payment: a real buyer gets a button to join <b>%(chat)s</b> here. A test customer is never let into the chat."
    ) % {"chat": escape(chat_title)}


def button_join(chat_title: str) -> str:
    return shorten(_("🔑 Join %(chat)s") % {"chat": chat_title}, BUTTON_TEXT_LIMIT)


def access_renewed(product_name: str, date: str) -> str:
    return _("🔄 Your subscription to <b>%(product)s</b> is renewed: active until %(date)s.") % {
        "product": escape(product_name),
        "date": date,
    }


def access_already_member(product_name: str) -> str:
    return _("You are in the chat of <b>%(product)s</b> already.") % {"product": escape(product_name)}


def button_new_link() -> str:
    return _("🔗 New invite link")


def button_cancel_renewal() -> str:
    return _("Cancel renewal")


def button_resume_renewal() -> str:
    return _("Resume renewal")


def renewal_cancelled(date: str) -> str:
    return _("Renewal cancelled: your access lasts until %(date)s.") % {"date": date}


def renewal_resumed(date: str) -> str:
    return _("Renewal resumed: it renews on %(date)s.") % {"date": date}


def renewal_change_failed() -> str:
    return _("Telegram could not change the subscription just now. Please try again later.")


def access_not_active() -> str:
    return _("Your access has ended: you can buy it again from the product's card.")


def access_ended(product_name: str, reason: str) -> str:
    texts = {
        "not_renewed": _(
            "Your subscription to <b>%(product)s</b> was not renewed, so you have left its chat. Subscribe again to come back."
        ),
        "refunded": _("Your payment for <b>%(product)s</b> was refunded, so you have left its chat."),
        "revoked": _(
            "Staff ended your access to <b>%(product)s</b>, so you have left its chat. "
            "Write to support if you think this is a mistake."
        ),
    }
    default = _("Your paid time for <b>%(product)s</b> is over, so you have left its chat. Buy it again to come back.")
    return texts.get(reason, default) % {"product": escape(product_name)}


def access_needs_staff() -> str:
    return _("We could not let you into the chat just now. Staff have been told and will help you shortly.")


def file_id_for_staff(file_id: str) -> str:
    return _("File id, ready to paste into the product's «Telegram file id» field:\n<code>%(file_id)s</code>") % {
        "file_id": escape(file_id)
    }


# --- Dates ---


def _month_abbreviation(month: int) -> str:
    return [
        pgettext("month of a date", "Jan"),
        pgettext("month of a date", "Feb"),
        pgettext("month of a date", "Mar"),
        pgettext("month of a date", "Apr"),
        pgettext("month of a date", "May"),
        pgettext("month of a date", "Jun"),
        pgettext("month of a date", "Jul"),
        pgettext("month of a date", "Aug"),
        pgettext("month of a date", "Sep"),
        pgettext("month of a date", "Oct"),
        pgettext("month of a date", "Nov"),
        pgettext("month of a date", "Dec"),
    ][month - 1]


def short_date(moment: datetime.datetime | datetime.date) -> str:
    """Day first, in TIME_ZONE: 2 Dec 2026 (Russian: 2 дек 2026)."""
    if isinstance(moment, datetime.datetime):
        moment = timezone.localtime(moment)
    return f"{moment.day} {_month_abbreviation(moment.month)} {moment.year}"


# --- Support ---


def button_write_to_support() -> str:
    return _("✉️ Write to support")


def button_cancel() -> str:
    return _("✖️ Cancel")


def support_hint(*, can_write: bool, contact: str) -> str:
    """Where a person can be reached: the button below (when staff are there), the shop's contact (when set)."""
    if can_write and contact:
        return _("A question for a person? Press «Write to support» below, or write to %(contact)s.") % {
            "contact": escape(contact)
        }
    if can_write:
        return _("A question for a person? Press «Write to support» below.")
    if contact:
        return _("A question for a person? Write to %(contact)s.") % {"contact": escape(contact)}
    return ""


def support_prompt() -> str:
    return _(
        "✉️ <b>Write to support</b>\n\n"
        "Send your question in one message: text, a photo, a video, a voice message or a file. "
        "A person from the shop will answer here.\n\n"
        "Changed your mind? Press Cancel."
    )


def support_cancelled() -> str:
    return _("Cancelled: nothing was sent to support.")


def support_sent() -> str:
    return _("✅ Sent to support. The answer will come here.")


def support_not_sent(contact: str) -> str:
    text = _("Sorry, support could not be reached just now. Please try again later.")
    if contact:
        text += "\n" + _("You can also write to %(contact)s.") % {"contact": escape(contact)}
    return text


def support_unavailable(contact: str) -> str:
    """The answer to a press of «Write to support» when no staff are there any more (at most 200 characters)."""
    if contact:
        return shorten(_("Support is not available in this chat. Write to %(contact)s.") % {"contact": contact}, 200)
    return _("Support is not available in this chat.")


def support_kind_not_taken() -> str:
    return _("Support takes text, photos, videos, voice and audio messages and files. Please send one of these, or press Cancel.")


def support_too_many() -> str:
    return _(
        "You have written to support several times in a short while. Please wait for the answer, or write again in a few minutes."
    )


# --- Support, as staff see it ---


def support_header(customer: User, purchases: list[Purchase]) -> str:
    """Above a customer's message in a staff chat: who wrote, what they bought lately, how to answer."""
    name = " ".join(part for part in (customer.first_name, customer.last_name) if part) or str(customer.telegram_id)
    handle = f"@{escape(customer.username)}, " if customer.username else ""
    who = f"{escape(name)} ({handle}<code>{customer.telegram_id}</code>)"
    lines = [_("✉️ <b>To support</b> from %(customer)s") % {"customer": who}]
    if purchases:
        lines.append(_("Latest purchases:"))
        lines += [f"• {_purchase_line(purchase)}" for purchase in purchases]
    else:
        lines.append(_("No purchases yet."))
    lines += ["", _("Reply to the customer's message to answer them.")]
    return "\n".join(lines)


def _purchase_line(purchase: Purchase) -> str:
    price = format_price(purchase.price, purchase.currency) if purchase.price else _("free")
    line = f"{escape(shorten(purchase.product.name, BUTTON_TEXT_LIMIT))} — {price} — {short_date(purchase.created_at)}"
    if purchase.status == Purchase.Status.REFUNDED:
        line += " — " + _("refunded")
    elif purchase.review_reason:
        line += " — " + _("needs review")
    elif purchase.delivered_at is None:
        line += " — " + _("not delivered yet")
    return line


def support_answer_sent(customer: User) -> str:
    return _("✅ Sent to %(customer)s.") % {"customer": escape(str(customer))}


def support_answer_blocked(customer: User) -> str:
    return _("⚠️ Not delivered: %(customer)s has blocked the bot.") % {"customer": escape(str(customer))}


def support_answer_refused(customer: User, reason: str) -> str:
    return _("⚠️ Not delivered to %(customer)s: Telegram refused it (%(reason)s).") % {
        "customer": escape(str(customer)),
        "reason": escape(reason),
    }


# --- Staff: file ids ---


def file_kind(kind: str) -> str:
    return {
        "document": _("📄 Document"),
        "photo": _("🖼 Photo"),
        "video": _("🎬 Video"),
        "audio": _("🎵 Audio"),
        "voice": _("🎤 Voice message"),
        "animation": _("🎞 Animation (GIF)"),
    }[kind]


def file_id_of_kind(kind: str, file_id: str) -> str:
    """A file staff sent the bot: its kind and its id, and the product's file kind that sends it as such."""
    text = file_kind(kind) + "\n" + file_id_for_staff(file_id)
    if kind == "document":
        return text
    return text + "\n\n" + _("Set the product's «file kind» to “%(kind)s” too.") % {"kind": FileKind(kind).label}


# --- Buttons pressed outside the private chat ---


def continued_in_private() -> str:
    return _("Opened in your private chat with me.")


def open_the_bot_first(bot_username: str | None) -> str:
    """At most 200 characters (a button's answer)."""
    if not bot_username:
        return _("To see this, open a private chat with me, press Start, then press the button again.")
    return _("To see this, open @%(bot)s, press Start, then press the button again.") % {"bot": bot_username}


# --- Reviews ---


def stars(rating: int) -> str:
    return "★" * rating + "☆" * (5 - rating)


def rating_line(average: float, count: int) -> str:
    """ "★ 4.7 (23)": the average of the visible reviews and how many there are."""
    return f"★ {average:.1f} ({count})"


def button_reviews(count: int) -> str:
    return _("💬 Reviews (%(count)d)") % {"count": count}


def button_rate() -> str:
    return _("⭐ Rate this product")


def button_rating(rating: int) -> str:
    return f"{rating} ★"


def button_skip() -> str:
    return _("Skip »")


def rate_prompt(product_name: str, current: int | None) -> str:
    text = _("How would you rate <b>%(name)s</b>?") % {"name": escape(product_name)}
    if current:
        text += "\n" + _("Your rating now: %(stars)s. Choose again to change it.") % {"stars": stars(current)}
    return text


def rated(product_name: str, rating: int, *, has_text: bool, limit: int) -> str:
    text = _("Thank you! You rated <b>%(name)s</b> %(stars)s.") % {"name": escape(product_name), "stars": stars(rating)}
    if has_text:
        ask = _(
            "To change what you wrote, send the new text in your next message (up to %(limit)d characters), "
            "or press Skip to keep it."
        )
    else:
        ask = _(
            "Add a few words for other customers? Send them in your next message (up to %(limit)d characters), or press Skip."
        )
    return text + "\n\n" + ask % {"limit": limit}


def review_thanks() -> str:
    return _("Thank you for your review!")


def review_saved(product_name: str) -> str:
    return _("✅ Thank you! Your review of <b>%(name)s</b> is saved.") % {"name": escape(product_name)}


def review_too_long(length: int, limit: int) -> str:
    return _("That is %(length)d characters; a review may have up to %(limit)d. Please send a shorter one.") % {
        "length": length,
        "limit": limit,
    }


def review_text_only() -> str:
    return _("Please send your review as a text message.")


def review_empty() -> str:
    return _("The review is empty. Please send a few words, or press Skip.")


def review_not_allowed() -> str:
    return _("Only customers who bought this product (and kept it) can review it.")


def reviews(product_name: str, average: float | None, count: int, page: int, pages: int) -> str:
    text = _("💬 <b>Reviews of %(name)s</b>") % {"name": escape(product_name)}
    if average is not None:
        text += "\n" + rating_line(average, count)
    return text + page_suffix(page, pages)


def reviews_empty(product_name: str) -> str:
    return _("💬 <b>%(name)s</b> has no reviews yet.") % {"name": escape(product_name)}


def review_entry(rating: int, author: str, date: str, text: str) -> str:
    """One review in the list: stars, the author's first name and the date, then the text (escaped)."""
    name = escape(shorten(author, 32)) if author else _("A customer")
    head = f"{stars(rating)} {name} · {date}"
    return f"{head}\n{escape(text)}" if text else head


def review_invitation(product_name: str) -> str:
    return _("How do you like <b>%(name)s</b>? Rate it to help other customers choose:") % {"name": escape(product_name)}


# --- Promotions: promo codes and referral links ---


def button_invite() -> str:
    return _("👥 Invite friends")


def button_promo() -> str:
    return _("🎟 Have a promo code?")


def button_promo_again() -> str:
    return _("🎟 Try another code")


def button_get_free() -> str:
    return _("🎁 Get it free")


def button_buy_at(price: int, currency: str, quantity: int = 1) -> str:
    """The Buy button at a promo code's price (`price` for one unit)."""
    total = format_price(price * quantity, currency)
    if quantity > 1:
        return _("Buy %(n)d for %(price)s") % {"n": quantity, "price": total}
    return _("Buy for %(price)s") % {"price": total}


def discount_label(kind: str, value: int, currency: str) -> str:
    return f"−{value}%" if kind == "percent" else f"−{format_price(value, currency)}"


def promo_prompt(product_name: str) -> str:
    return _(
        "🎟 <b>Promo code</b>\n\nSend your promo code for <b>%(product)s</b> in one message.\n\nChanged your mind? Press Cancel."
    ) % {"product": escape(product_name)}


def promo_price_line(code: str, old_price: str, new_price: str) -> str:
    """On the card: the old price struck through and the price with the code."""
    return _("🎟 With code <b>%(code)s</b>: <s>%(old)s</s> %(new)s") % {"code": escape(code), "old": old_price, "new": new_price}


def promo_free_line(code: str, old_price: str) -> str:
    return _("🎟 With code <b>%(code)s</b>: <s>%(old)s</s> free") % {"code": escape(code), "old": old_price}


def promo_not_here(code: str, reason: str) -> str:
    """On the card: the customer's applied code does not apply to this product."""
    return _("🎟 Code <b>%(code)s</b>: %(reason)s") % {"code": escape(code), "reason": promo_refusal(reason)}


def promo_applied(code: str) -> str:
    return _("✅ Promo code <b>%(code)s</b> applied.") % {"code": escape(code)}


def promo_applied_for_next(code: str, discount: str) -> str:
    return _("✅ Promo code <b>%(code)s</b> (%(discount)s) is applied to your next purchase. Pick something in the catalog!") % {
        "code": escape(code),
        "discount": discount,
    }


def promo_refused(code: str, reason: str) -> str:
    """A code that does not apply, and why (plain text from the customer is escaped)."""
    if not code:
        return promo_refusal(reason)
    return _("Promo code <b>%(code)s</b>: %(reason)s") % {"code": escape(code), "reason": promo_refusal(reason)}


def payment_too_small(currency: str, *, code: str = "") -> str:
    """Telegram refused the invoice: below its least payment in the currency (plain text: a callback answer)."""
    if code:
        return _("Telegram takes no payment this small in %(currency)s: the promo code %(code)s cannot be used here.") % {
            "currency": currency,
            "code": code,
        }
    return _("Telegram takes no payment this small in %(currency)s: this product cannot be bought now.") % {"currency": currency}


def promo_refusal(reason: str) -> str:
    return {
        "unknown": _("there is no such promo code. Check the spelling."),
        "inactive": _("this promo code is not active."),
        "not_yet_valid": _("this promo code is not valid yet."),
        "expired": _("this promo code has expired."),
        "used_up": _("this promo code has been used up."),
        "not_for_product": _("this promo code is not for this product."),
        "already_used": _("you have already used this promo code."),
        "first_purchase_only": _("this promo code is only for a first purchase."),
    }[reason]


def invite(link: str, *, joined: int, bought: int, percent: int, days: int) -> str:
    lines = [_("👥 <b>Invite friends</b>"), "", _("Share your personal link:"), escape(link), ""]
    if percent > 0:
        lines += [
            ngettext(
                "When a friend you invited makes their first purchase, you get a personal promo code: "
                "%(percent)d%% off, valid %(days)d day.",
                "When a friend you invited makes their first purchase, you get a personal promo code: "
                "%(percent)d%% off, valid %(days)d days.",
                days,
            )
            % {"percent": percent, "days": days},
            "",
        ]
    lines += [
        _("Friends joined: %(n)d") % {"n": joined},
        _("Friends who bought: %(n)d") % {"n": bought},
    ]
    return "\n".join(lines)


def referral_reward(code: str, *, percent: int, until: datetime.datetime, applied: bool) -> str:
    text = _(
        "🎁 A friend you invited made their first purchase! Your personal promo code <code>%(code)s</code> "
        "gives %(percent)d%% off one purchase until %(date)s."
    ) % {"code": escape(code), "percent": percent, "date": short_date(until)}
    if applied:
        text += " " + _("It is applied to your next purchase already.")
    return text


# --- Search and sharing (inline mode) ---

QUERY_ECHO_LIMIT = 60  # characters of a customer's query repeated back to them


def button_search() -> str:
    return _("🔍 Search")


def button_new_search() -> str:
    return _("🔍 New search")


def search_prompt() -> str:
    return _("🔍 <b>Search</b>\nSend me a word or two from a product's name or description.")


def _echo(query: str) -> str:
    return escape(shorten(query, QUERY_ECHO_LIMIT))


def search_results(query: str, count: int, page: int, pages: int) -> str:
    text = ngettext(
        "🔍 %(count)d product found for «%(query)s»:",
        "🔍 %(count)d products found for «%(query)s»:",
        count,
    ) % {"count": count, "query": _echo(query)}
    return text + page_suffix(page, pages)


def search_nothing_found(query: str) -> str:
    return _("🔍 Nothing found for «%(query)s». Try other words, or have a look at the catalog:") % {"query": _echo(query)}


def search_expired() -> str:
    return _("That search is no longer kept: send me the words again.")


def button_open_in_shop() -> str:
    return _("🛍 Open in the shop")


def price_or_free(product: Product) -> str:
    return format_price(product.price, product.currency) if product.price else _("Free")


def sample_unit(number: int) -> str:
    """What a test purchase (Try the bot) delivers in place of a unit of stock."""
    return _("TEST-%(n)04d (a sample: test purchases take no real units)") % {"n": number}
