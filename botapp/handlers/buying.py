"""Buying: the Buy/Get/Open buttons, pre-checkout, successful and refunded payments."""

import logging

from django.conf import settings
from telebot import TeleBot
from telebot.types import CallbackQuery, LabeledPrice, Message, PreCheckoutQuery

from botapp import callbacks, staff, tasks, texts
from botapp.delivery import deliver_claimed, deliver_purchase, send_content
from botapp.handlers.common import catalog_screen, sync_sender
from botapp.render import answer_callback, show
from shop.money import to_minor_units
from shop.selectors.catalog import product_get_for_user
from shop.services.payments import (
    checkout_check,
    invoice_create,
    purchase_get_free,
    purchase_mark_refunded,
    purchase_record_payment,
)
from shop.telegram_html import visible_text

log = logging.getLogger(__name__)

TITLE_LIMIT = 32
DESCRIPTION_LIMIT = 255


def on_buy(call: CallbackQuery, bot: TeleBot) -> None:
    sender = call.from_user
    product = product_get_for_user(product_id=callbacks.parse(call.data).id, telegram_id=sender.id)
    if product is None or (not product.is_active and not product.owned):
        answer_callback(bot, call.id, texts.no_longer_available())
        show(bot, sender.id, catalog_screen(notice=texts.no_longer_available()))
        return
    if product.owned:
        answer_callback(bot, call.id, texts.already_owned())
        send_content(bot, sender.id, product)
        return
    user = sync_sender(sender)
    if product.price == 0:
        answer_callback(bot, call.id)
        purchase, created = purchase_get_free(user=user, product=product)
        _hand_over(bot, purchase, recorded=created)
        return
    terms, payload = invoice_create(telegram_id=sender.id, product=product)
    description = texts.shorten(visible_text(product.description).strip() or product.name, DESCRIPTION_LIMIT)
    answer_callback(bot, call.id)
    bot.send_invoice(
        sender.id,
        title=texts.shorten(product.name, TITLE_LIMIT),
        description=description,
        invoice_payload=payload,
        provider_token=settings.PAYMENT_PROVIDER_TOKEN if terms.currency != "XTR" else "",
        currency=terms.currency,
        prices=[LabeledPrice(texts.shorten(product.name, TITLE_LIMIT), to_minor_units(terms.price, terms.currency))],
    )


def on_open(call: CallbackQuery, bot: TeleBot) -> None:
    product = product_get_for_user(product_id=callbacks.parse(call.data).id, telegram_id=call.from_user.id)
    if product is None or not product.owned:
        answer_callback(bot, call.id, texts.no_longer_available())
        return
    answer_callback(bot, call.id)
    send_content(bot, call.from_user.id, product)


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
    if purchase.review_reason:
        if outcome.created:
            bot.send_message(message.from_user.id, texts.payment_under_review())
        return
    _hand_over(bot, purchase, recorded=outcome.created)


def _hand_over(bot: TeleBot, purchase, *, recorded: bool) -> None:
    """Deliver now; if Telegram cannot take it now, the background worker keeps trying.

    `recorded`: this worker has just recorded the purchase and so holds its delivery.
    """
    result = deliver_claimed(bot, purchase) if recorded else deliver_purchase(bot, purchase.pk)
    tasks.delivery_follow_up(bot, purchase, result, buyer_waiting=True)


def on_refunded_payment(message: Message, bot: TeleBot) -> None:
    payment_id = message.refunded_payment.telegram_payment_charge_id
    purchase, changed = purchase_mark_refunded(payment_id=payment_id)
    if purchase is None:
        log.warning("refund of an unknown payment %s", payment_id)
    elif changed:  # Telegram may send the same update twice: tell the buyer once
        bot.send_message(message.from_user.id, texts.refunded_notice(purchase.product.name))


def register(bot: TeleBot) -> None:
    bot.register_callback_query_handler(on_buy, func=callbacks.action_is("buy"), pass_bot=True)
    bot.register_callback_query_handler(on_open, func=callbacks.action_is("open"), pass_bot=True)
    bot.register_pre_checkout_query_handler(on_pre_checkout, func=lambda query: True, pass_bot=True)
    # Payments are handled wherever they happen (an invoice forwarded to a group can be paid there).
    bot.register_message_handler(on_successful_payment, content_types=["successful_payment"], pass_bot=True)
    # content type set by botapp.dispatch (telebot leaves it None)
    bot.register_message_handler(on_refunded_payment, content_types=["refunded_payment"], pass_bot=True)
