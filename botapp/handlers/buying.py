"""Buying: the Buy/Get/Open buttons, pre-checkout, successful and refunded payments."""

import datetime
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from telebot import TeleBot
from telebot.apihelper import ApiTelegramException
from telebot.types import CallbackQuery, LabeledPrice, Message, PreCheckoutQuery

from botapp import callbacks, staff, tasks, texts
from botapp.delivery import deliver_claimed, deliver_purchase, send_content
from botapp.handlers.common import card_screen, catalog_screen, sync_sender
from botapp.render import answer_callback, show
from botapp.telegram.refunds import refund_star_payment
from shop.models import Purchase
from shop.money import format_price, to_minor_units
from shop.promotions.services import PromoRefused, promo_applied_offer, promo_unapply
from shop.selectors.catalog import product_get_for_user
from shop.services.payments import (
    checkout_check,
    invoice_create,
    purchase_get_free,
    purchase_get_free_with_code,
    purchase_mark_refunded,
    purchase_record_payment,
    purchase_refund,
    quantity_check,
    refund_due,
    unmatched_payment_mark_refunded,
)
from shop.stock.selectors import units_owned
from shop.stock.services import restock_request_add
from shop.telegram_html import visible_text

log = logging.getLogger(__name__)

TITLE_LIMIT = 32
DESCRIPTION_LIMIT = 255


def on_buy(call: CallbackQuery, bot: TeleBot) -> None:
    sender = call.from_user
    parsed = callbacks.parse(call.data)
    product = product_get_for_user(product_id=parsed.id, telegram_id=sender.id)
    if product is None or (not product.is_active and not product.owned):
        answer_callback(bot, call.id, texts.no_longer_available())
        show(bot, sender.id, catalog_screen(notice=texts.no_longer_available()))
        return
    if product.owned and (not product.sells_units or product.price == 0):  # one each: theirs again
        answer_callback(bot, call.id, texts.already_owned())
        send_content(bot, sender.id, product, units=units_owned(telegram_id=sender.id, product_id=product.pk))
        return
    if not product.is_active:  # bought from stock before, off sale now: the card still opens theirs
        answer_callback(bot, call.id, texts.no_longer_available())
        show(bot, sender.id, card_screen(product, telegram_id=sender.id))
        return
    # the customer's promo code (shop.promotions): its price, or why it does not apply any more; chat access
    # takes no code (its card shows none): the code stays applied for another product
    with_code = product.price and not getattr(product, "gives_chat_access", False)
    offer, refused = promo_applied_offer(telegram_id=sender.id, product=product) if with_code else (None, None)
    free = product.price == 0 or (offer is not None and offer.free)
    try:
        if refused is not None:
            raise refused
        if free:
            quantity_check(product=product, quantity=parsed.quantity)
            if product.price == 0:
                purchase, created = purchase_get_free(user=sync_sender(sender), product=product)
            else:
                purchase, created = purchase_get_free_with_code(
                    user=sync_sender(sender), product=product, promo_code=offer.code, quantity=parsed.quantity
                )
        else:  # checks the quantity too
            terms, payload = invoice_create(
                telegram_id=sender.id, product=product, quantity=parsed.quantity, promo_code=offer.code if offer else None
            )
    except PromoRefused as code_refused:  # say why, and show the card at its price without the code
        promo_unapply(telegram_id=sender.id)
        answer_callback(bot, call.id, visible_text(texts.promo_refused(code_refused.code, code_refused.reason)))
        show(bot, sender.id, card_screen(product, quantity=parsed.quantity, telegram_id=sender.id))
        return
    except ValidationError as refusal:
        # a stale or forged quantity, or stock sold meanwhile: say why, and show the card as it is now
        answer_callback(bot, call.id, " ".join(refusal.messages))
        show(bot, sender.id, card_screen(product, quantity=parsed.quantity, telegram_id=sender.id))
        return
    if free:
        answer_callback(bot, call.id)
        _hand_over(bot, purchase, recorded=created)
        return
    sync_sender(sender)  # a buyer known before they pay
    description = texts.shorten(visible_text(product.description).strip() or product.name, DESCRIPTION_LIMIT)
    label = product.name if terms.quantity == 1 else f"{product.name} × {terms.quantity}"
    try:
        bot.send_invoice(
            sender.id,
            title=texts.shorten(product.name, TITLE_LIMIT),
            description=description,
            invoice_payload=payload,
            provider_token=settings.PAYMENT_PROVIDER_TOKEN if terms.currency != "XTR" else "",
            currency=terms.currency,
            prices=[LabeledPrice(texts.shorten(label, TITLE_LIMIT), to_minor_units(terms.total, terms.currency))],
        )
    except ApiTelegramException as exc:
        answer_callback(bot, call.id, _too_small_for_telegram(exc, sender.id, terms, offer))
        if "CURRENCY_TOTAL_AMOUNT_INVALID" not in str(exc.description):
            raise
        show(bot, sender.id, card_screen(product, quantity=parsed.quantity, telegram_id=sender.id))
        return
    answer_callback(bot, call.id)


def _too_small_for_telegram(exc: ApiTelegramException, telegram_id: int, terms, offer) -> str | None:
    """Telegram refuses an invoice below its minimum for the currency (about one US dollar, and it follows the
    exchange rates, so the shop keeps no table of it): the customer is told, and a code that made the price
    that small is taken off, so the card offers the product at its price again. None: another refusal."""
    if "CURRENCY_TOTAL_AMOUNT_INVALID" not in str(exc.description):
        return None
    log.warning("Telegram refused an invoice of %s %s as too small: %s", terms.total, terms.currency, exc.description)
    if offer is None:
        return texts.payment_too_small(terms.currency)
    promo_unapply(telegram_id=telegram_id)
    return texts.payment_too_small(terms.currency, code=offer.code.code)


def on_open(call: CallbackQuery, bot: TeleBot) -> None:
    product = product_get_for_user(product_id=callbacks.parse(call.data).id, telegram_id=call.from_user.id)
    if product is None or not product.owned:
        answer_callback(bot, call.id, texts.no_longer_available())
        return
    answer_callback(bot, call.id)
    # the units they bought, whatever the product's setting is now
    send_content(bot, call.from_user.id, product, units=units_owned(telegram_id=call.from_user.id, product_id=product.pk))


def on_notify(call: CallbackQuery, bot: TeleBot) -> None:
    """ "Notify me when it is back" on a sold-out card."""
    product = product_get_for_user(product_id=callbacks.parse(call.data).id, telegram_id=call.from_user.id)
    if product is None or not product.is_active or not product.sells_units:
        answer_callback(bot, call.id, texts.no_longer_available())
        return
    added = restock_request_add(user=sync_sender(call.from_user), product=product)
    answer_callback(bot, call.id, texts.notify_added() if added else texts.notify_already())


def on_pre_checkout(query: PreCheckoutQuery, bot: TeleBot) -> None:
    refusal = checkout_check(
        telegram_id=query.from_user.id,
        payload=query.invoice_payload,
        currency=query.currency,
        total_amount=query.total_amount,
    )
    if refusal is None:
        bot.answer_pre_checkout_query(query.id, ok=True)
    else:
        log.info("pre-checkout refused for %s: %s", query.from_user.id, refusal)
        bot.answer_pre_checkout_query(query.id, ok=False, error_message=texts.checkout_refusal(refusal))


def on_successful_payment(message: Message, bot: TeleBot) -> None:
    payment = message.successful_payment
    user = sync_sender(message.from_user)
    outcome = purchase_record_payment(
        user=user,
        payload=payment.invoice_payload,
        currency=payment.currency,
        total_amount=payment.total_amount,
        payment_id=payment.telegram_payment_charge_id,
        provider_payment_id=payment.provider_payment_charge_id or "",
        # a Stars subscription Telegram renewed by itself (a chat's access, shop.access)
        renewal=bool(payment.is_recurring) and not payment.is_first_recurring,
        subscription_expires_at=_moment(payment.subscription_expiration_date),
    )
    if outcome.unmatched is not None:
        if outcome.created:
            log.error("payment %s matches no product", outcome.unmatched.payment_id)
            staff.notify_staff(bot, staff.unmatched_payment_alert(outcome.unmatched))
            bot.send_message(message.from_user.id, texts.payment_under_review())
        return
    purchase = outcome.purchase
    if outcome.created:
        staff.notify_staff(bot, staff.purchase_notice(purchase))
    if refund_due(purchase):  # paid while stock ran out: the money goes back (again, if the last try failed)
        _refund_out_of_stock(bot, purchase)
        return
    if purchase.review_reason:
        if outcome.created:
            bot.send_message(message.from_user.id, texts.payment_under_review())
        return
    _hand_over(bot, purchase, recorded=outcome.created)


def _moment(unix_time: int | None) -> datetime.datetime | None:
    return datetime.datetime.fromtimestamp(unix_time, tz=datetime.UTC) if unix_time else None


def _hand_over(bot: TeleBot, purchase, *, recorded: bool) -> None:
    """Deliver now; if Telegram cannot take it now, the background worker keeps trying.

    `recorded`: this worker has just recorded the purchase and so holds its delivery.
    """
    result = deliver_claimed(bot, purchase) if recorded else deliver_purchase(bot, purchase.pk)
    tasks.delivery_follow_up(bot, purchase, result, buyer_waiting=True)


def _refund_out_of_stock(bot: TeleBot, purchase) -> None:
    """Stars go back at once; a provider's payment (no refund through the Bot API) goes to staff."""
    buyer = purchase.user.telegram_id
    if purchase.payment_type == Purchase.PaymentType.STARS:
        try:
            purchase_refund(purchase=purchase, refund=lambda buyer_id, charge: refund_star_payment(buyer_id, charge, client=bot))
        except ValidationError as exc:
            log.error("refund of out-of-stock purchase %s failed: %s", purchase.pk, exc.messages)
            staff.notify_staff(bot, staff.out_of_stock_alert(purchase, refunded=False, error=" ".join(exc.messages)))
            bot.send_message(buyer, texts.out_of_stock_refund_pending(purchase.product.name))
            return
        staff.notify_staff(bot, staff.out_of_stock_alert(purchase, refunded=True))
        price = format_price(purchase.price, purchase.currency)
        bot.send_message(buyer, texts.out_of_stock_refunded(purchase.product.name, price))
        return
    staff.notify_staff(bot, staff.out_of_stock_alert(purchase, refunded=False))
    bot.send_message(buyer, texts.out_of_stock_refund_pending(purchase.product.name))


def on_refunded_payment(message: Message, bot: TeleBot) -> None:
    payment_id = message.refunded_payment.telegram_payment_charge_id
    purchase, changed = purchase_mark_refunded(payment_id=payment_id)
    if purchase is None:
        unmatched, _changed = unmatched_payment_mark_refunded(payment_id=payment_id)
        if unmatched is None:
            log.warning("refund of an unknown payment %s", payment_id)
        else:
            log.info("refund of unmatched payment %s recorded", payment_id)
    elif changed:  # Telegram may send the same update twice: tell the buyer once
        bot.send_message(message.from_user.id, texts.refunded_notice(purchase.product.name))


def register(bot: TeleBot) -> None:
    bot.register_callback_query_handler(on_buy, func=callbacks.action_is("buy"), pass_bot=True)
    bot.register_callback_query_handler(on_open, func=callbacks.action_is("open"), pass_bot=True)
    bot.register_callback_query_handler(on_notify, func=callbacks.action_is("notify"), pass_bot=True)
    bot.register_pre_checkout_query_handler(on_pre_checkout, func=lambda query: True, pass_bot=True)
    # Payments are handled wherever they happen (an invoice forwarded to a group can be paid there).
    bot.register_message_handler(on_successful_payment, content_types=["successful_payment"], pass_bot=True)
    # content type set by botapp.dispatch (telebot leaves it None)
    bot.register_message_handler(on_refunded_payment, content_types=["refunded_payment"], pass_bot=True)
