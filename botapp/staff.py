"""Messages to the staff listed in ADMIN_IDS (in English). A staff chat that fails never stops the shop."""

import logging

from django.conf import settings
from telebot import TeleBot

from shop.models import Purchase
from shop.money import format_price
from shop.telegram_html import escape

log = logging.getLogger(__name__)


def notify_staff(bot: TeleBot, text: str) -> None:
    for admin_id in settings.ADMIN_IDS:
        try:
            bot.send_message(admin_id, text)
        except Exception as exc:
            log.warning("could not notify staff member %s: %s", admin_id, type(exc).__name__)


def _customer(purchase_or_user) -> str:
    user = getattr(purchase_or_user, "user", purchase_or_user)
    return f"{escape(str(user))} (<code>{user.telegram_id}</code>)"


def purchase_notice(purchase: Purchase) -> str:
    price = format_price(purchase.price, purchase.currency)
    text = f"💰 {escape(purchase.product.name)} — {price} — {_customer(purchase)}"
    if purchase.review_reason:
        text += f"\n⚠️ Needs review: {escape(purchase.review_reason)}"
    return text


def out_of_stock_alert(purchase: Purchase, *, refunded: bool, error: str = "") -> str:
    price = format_price(purchase.price, purchase.currency)
    text = (
        f"⚠️ {escape(purchase.product.name)}: {_customer(purchase)} paid {price} for {purchase.quantity} "
        "while the stock could not cover it. "
    )
    if refunded:
        return text + "The payment was refunded automatically."
    if error:
        return text + f"The automatic refund failed ({escape(error)}): refund it from the purchase in the admin."
    return text + "Refund it with the payment provider, or add stock and use “Deliver content” on the purchase."


def stock_alert(product, *, level: str, available: int) -> str:
    if level == "out":
        return f"🚫 {escape(product.name)} is out of stock. Add units with “Add stock” on the product."
    return f"📉 {escape(product.name)}: only {available} left in stock."


def unmatched_payment_alert(unmatched) -> str:
    return (
        f"⚠️ Payment that matches no product: {unmatched.amount} {escape(unmatched.currency)} "
        f"from <code>{unmatched.telegram_id}</code> ({escape(unmatched.reason)}). "
        f"Payment id: <code>{escape(unmatched.payment_id)}</code>"
    )


def delivery_failed_alert(purchase: Purchase, error: str) -> str:
    return (
        f"⚠️ Could not deliver {escape(purchase.product.name)} to {_customer(purchase)}: {escape(error)}. "
        "Fix the product if needed, then use “Deliver content” on the purchase."
    )


def payment_given_up_alert(update) -> str:
    message = update.message
    payment = message.successful_payment or message.refunded_payment
    return (
        f"⚠️ A payment update could not be handled after many tries and was set aside: "
        f"{payment.total_amount} {escape(payment.currency)} from <code>{message.from_user.id}</code>, "
        f"payment id <code>{escape(payment.telegram_payment_charge_id)}</code>. "
        "Check the logs, then settle it by hand (grant the product, or refund)."
    )


def unreadable_payment_alert(update_id: int, payment: dict) -> str:
    """A payment (or refund) in an update the bot could not read. Every value came from outside: escaped."""
    what = "A refund" if payment.get("kind") == "refunded_payment" else "A payment"
    return (
        f"⚠️ {what} arrived in an update the bot could not read (update {update_id}): "
        f"{escape(str(payment.get('total_amount', '?')))} {escape(str(payment.get('currency', '?')))} "
        f"from <code>{escape(str(payment.get('payer', '?')))}</code>, "
        f"payment id <code>{escape(str(payment.get('telegram_payment_charge_id', '?')))}</code>. "
        "It is kept under “Updates set aside” in the admin: settle it by hand (grant the product, or refund)."
    )
