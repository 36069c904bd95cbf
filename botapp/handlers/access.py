"""Chat access: subscribing (Telegram's invoice link), a new invite link, cancelling or resuming the renewal,
and join requests to the chats the shop sells (buyers approved, strangers declined or left for staff)."""

import logging

from django.core.exceptions import ValidationError
from telebot import TeleBot
from telebot.apihelper import ApiTelegramException
from telebot.types import CallbackQuery, ChatJoinRequest, LabeledPrice

from botapp import access_screens, callbacks, texts
from botapp.access import is_in_chat, report_problem, send_invite
from botapp.handlers import buying
from botapp.handlers.common import card_screen, show_in_place, sync_sender
from botapp.render import answer_callback, show
from botapp.telegram.errors import is_transient
from shop.access.models import SUBSCRIPTION_PERIOD, ChatAccess
from shop.access.selectors import chat_access_get, chat_access_list_for_chat, membership_get, membership_paid_for_chat
from shop.access.services import chat_access_check_price, membership_mark_joined, membership_set_renewing
from shop.money import to_minor_units
from shop.selectors.catalog import product_get_for_user
from shop.services.payments import invoice_create
from shop.telegram_html import visible_text

log = logging.getLogger(__name__)


def _access_product(call: CallbackQuery) -> bool:
    """A Buy press on a product that opens a chat."""
    parsed = callbacks.parse(call.data)
    return parsed is not None and parsed.action == "buy" and ChatAccess.objects.filter(product_id=parsed.id).exists()


def on_buy(call: CallbackQuery, bot: TeleBot) -> None:
    """Access for good is bought like any product; a subscription through Telegram's invoice link (sendInvoice
    cannot make one). Someone whose access lasts gets their card instead of a second invoice."""
    sender = call.from_user
    product = product_get_for_user(product_id=callbacks.parse(call.data).id, telegram_id=sender.id)
    if product is not None and product.owned:
        answer_callback(bot, call.id, texts.already_owned())
        show(bot, sender.id, card_screen(product, telegram_id=sender.id))
        return
    access = chat_access_get(product_id=product.pk) if product is not None else None
    if access is None or not access.is_subscription or not product.is_active:
        buying.on_buy(call, bot)
        return
    try:
        chat_access_check_price(mode=access.mode, price=product.price, currency=product.currency)
        terms, payload = invoice_create(telegram_id=sender.id, product=product)
    except ValidationError as refusal:
        answer_callback(bot, call.id, " ".join(refusal.messages))
        return
    sync_sender(sender)  # a buyer known before they pay
    description = texts.shorten(visible_text(product.description).strip() or product.name, buying.DESCRIPTION_LIMIT)
    title = texts.shorten(product.name, buying.TITLE_LIMIT)
    link = bot.create_invoice_link(
        title,
        description,
        payload,
        "",
        terms.currency,
        [LabeledPrice(title, to_minor_units(terms.total, terms.currency))],
        subscription_period=int(SUBSCRIPTION_PERIOD.total_seconds()),
    )
    answer_callback(bot, call.id)
    show(bot, sender.id, access_screens.subscribe_message(product, link))


def _active_membership(bot: TeleBot, call: CallbackQuery):
    """The product, its chat and the presser's membership if their access lasts; else the press is answered."""
    product = product_get_for_user(product_id=callbacks.parse(call.data).id, telegram_id=call.from_user.id)
    membership = membership_get(telegram_id=call.from_user.id, product_id=product.pk) if product is not None else None
    access = chat_access_get(product_id=product.pk) if product is not None else None
    if not (product and product.owned and membership and access):
        answer_callback(bot, call.id, texts.access_not_active())
        return None
    return product, access, membership


def on_link(call: CallbackQuery, bot: TeleBot) -> None:
    """A new invite link, never to someone in the chat already."""
    found = _active_membership(bot, call)
    if found is None:
        return
    product, access, membership = found
    try:
        if is_in_chat(bot, access.chat_id, call.from_user.id):
            answer_callback(bot, call.id, visible_text(texts.access_already_member(product.name)))
            return
        send_invite(bot, access, membership, heading=texts.access_heading(product.name))
    except ApiTelegramException as exc:
        if is_transient(exc):
            raise
        report_problem(bot, access, exc)
        answer_callback(bot, call.id, texts.access_needs_staff())
        return
    answer_callback(bot, call.id)


def _renewal(call: CallbackQuery, bot: TeleBot, *, renewing: bool) -> None:
    found = _active_membership(bot, call)
    if found is None:
        return
    product, _access, membership = found
    if membership.subscription_charge_id and membership.renewing != renewing:
        try:
            bot.edit_user_star_subscription(call.from_user.id, membership.subscription_charge_id, is_canceled=not renewing)
        except ApiTelegramException as exc:
            log.warning("editUserStarSubscription refused for %s: %s", call.from_user.id, exc.description)
            answer_callback(bot, call.id, texts.renewal_change_failed())
            return
        try:
            membership = membership_set_renewing(membership=membership, renewing=renewing)
        except ValidationError as refusal:
            answer_callback(bot, call.id, " ".join(refusal.messages))
            return
    date = texts.short_date(membership.paid_until)
    notice = texts.renewal_resumed(date) if renewing else texts.renewal_cancelled(date)
    show_in_place(bot, call, card_screen(product, telegram_id=call.from_user.id, back=callbacks.Back("purchases")), notice)


def on_cancel(call: CallbackQuery, bot: TeleBot) -> None:
    _renewal(call, bot, renewing=False)


def on_resume(call: CallbackQuery, bot: TeleBot) -> None:
    _renewal(call, bot, renewing=True)


def on_join_request(request: ChatJoinRequest, bot: TeleBot) -> None:
    """Buyers whose access lasts are let in; anyone else is declined, or left for staff if the chat says so."""
    accesses = list(chat_access_list_for_chat(chat_id=request.chat.id).select_related("product"))
    if not accesses:
        return  # not a chat the shop sells: not the bot's to decide
    user_id = request.from_user.id
    membership = membership_paid_for_chat(telegram_id=user_id, chat_id=request.chat.id)
    try:
        if membership is not None:
            bot.approve_chat_join_request(request.chat.id, user_id)
            membership_mark_joined(membership=membership)
        elif all(access.strangers == ChatAccess.Strangers.DECLINE for access in accesses):
            bot.decline_chat_join_request(request.chat.id, user_id)
    except ApiTelegramException as exc:
        if is_transient(exc):
            raise
        if "HIDE_REQUESTER_MISSING" in (exc.description or ""):
            return  # settled already (by staff, or this update came twice)
        report_problem(bot, accesses[0], exc)
        if membership is not None:  # a buyer left waiting: told that staff will help
            try:
                bot.send_message(user_id, texts.access_needs_staff())
            except ApiTelegramException:
                log.info("could not tell %s that joining failed", user_id)


def register(bot: TeleBot) -> None:
    bot.register_callback_query_handler(on_buy, func=_access_product, pass_bot=True)
    bot.register_callback_query_handler(on_link, func=callbacks.action_is("access_link"), pass_bot=True)
    bot.register_callback_query_handler(on_cancel, func=callbacks.action_is("access_cancel"), pass_bot=True)
    bot.register_callback_query_handler(on_resume, func=callbacks.action_is("access_resume"), pass_bot=True)
    bot.register_chat_join_request_handler(on_join_request, func=lambda request: True, pass_bot=True)
