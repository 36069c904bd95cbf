"""Promotions: «Have a promo code?» on a card (the next text message is the code; Cancel or any command
stops waiting), `/start c<CODE>` (a code for the next purchase), «Invite friends» and `/start r<code>`."""

import logging
import re

from django.conf import settings
from telebot import TeleBot
from telebot.types import CallbackQuery, Message

from botapp import callbacks, screens, texts
from botapp.handlers.common import card_screen, show_in_place, sync_sender
from botapp.render import answer_callback, show
from botapp.waits import end_waits
from shop.models import User
from shop.promotions.selectors import referral_counts
from shop.promotions.services import (
    PromoRefused,
    promo_apply,
    promo_wait_cancel,
    promo_wait_pending,
    promo_wait_start,
    promo_wait_use,
    referral_code,
    referral_record,
)
from shop.selectors.catalog import product_get_for_user

log = logging.getLogger(__name__)

PRIVATE = ["private"]
CODE_DEEP_LINK = re.compile(r"c([A-Za-z0-9]{1,16})")
REFERRAL_DEEP_LINK = re.compile(r"r([0-9]{1,18}_[0-9a-f]{8})")


def _buyable(call: CallbackQuery):
    product = product_get_for_user(product_id=callbacks.parse(call.data).id, telegram_id=call.from_user.id)
    return product if product is not None and product.is_active and product.price > 0 else None


def on_promo(call: CallbackQuery, bot: TeleBot) -> None:
    """«Have a promo code?»: the customer's next message is the code."""
    product = _buyable(call)
    if product is None:
        answer_callback(bot, call.id, texts.no_longer_available())
        return
    end_waits(call.from_user.id, but="promo")  # one thing at a time waits for their message
    promo_wait_start(telegram_id=call.from_user.id, product=product)
    show_in_place(bot, call, screens.promo_prompt(product))


def on_promo_cancel(call: CallbackQuery, bot: TeleBot) -> None:
    promo_wait_cancel(telegram_id=call.from_user.id)
    product = product_get_for_user(product_id=callbacks.parse(call.data).id, telegram_id=call.from_user.id)
    if product is None:
        answer_callback(bot, call.id, texts.no_longer_available())
        return
    show_in_place(bot, call, card_screen(product, telegram_id=call.from_user.id))


def _is_command(message: Message) -> bool:
    return any(e.type == "bot_command" and e.offset == 0 for e in message.entities or [])


def awaited_as_promo_code(message: Message) -> bool:
    """The customer pressed «Have a promo code?» and this text is the code (a command never is)."""
    return (
        message.from_user is not None
        and bool(message.text)
        and not _is_command(message)
        and promo_wait_pending(telegram_id=message.from_user.id)
    )


def on_promo_code(message: Message, bot: TeleBot) -> None:
    sender = message.from_user
    product_id = promo_wait_use(telegram_id=sender.id)
    product = product_get_for_user(product_id=product_id, telegram_id=sender.id) if product_id else None
    if product is None or not product.is_active:
        show(bot, message.chat.id, screens.main_menu(texts.no_longer_available()))
        return
    try:
        code = promo_apply(user=sync_sender(sender), text=message.text, product=product)
    except PromoRefused as refused:
        show(bot, message.chat.id, screens.promo_refused(product, refused))
        return
    card = card_screen(product, telegram_id=sender.id)
    show(bot, message.chat.id, screens.Screen(texts.promo_applied(code.code) + "\n\n" + card.text, card.markup))


def start_link(message: Message, bot: TeleBot, payload: str) -> bool:
    """`/start c<CODE>` and `/start r<code>`: handled here (True), or not one of these (False)."""
    code_link = CODE_DEEP_LINK.fullmatch(payload)
    referral_link = REFERRAL_DEEP_LINK.fullmatch(payload)
    if code_link is None and referral_link is None:
        return False
    sender = message.from_user
    first_start = referral_link is not None and not User.objects.filter(telegram_id=sender.id).exists()
    user = sync_sender(sender)
    welcome = texts.welcome(sender.first_name)
    if referral_link is not None:
        if referral_record(referred=user, code=referral_link[1], first_start=first_start):
            log.info("%s joined through a referral link", sender.id)
        show(bot, message.chat.id, screens.main_menu(welcome + "\n\n" + texts.main_menu()))
        return True
    try:
        code = promo_apply(user=user, text=code_link[1])
        notice = texts.promo_applied_for_next(code.code, texts.discount_label(code.kind, code.value, settings.SHOP_CURRENCY))
    except PromoRefused as refused:
        notice = texts.promo_refused(refused.code, refused.reason)
    show(bot, message.chat.id, screens.main_menu(welcome + "\n\n" + notice))
    return True


def _bot_username(bot: TeleBot) -> str:
    if settings.TELEGRAM_BOT_USERNAME:
        return settings.TELEGRAM_BOT_USERNAME
    try:
        return bot.user.username  # asked of Telegram once per bot (getMe), then kept
    except Exception:
        log.info("could not ask Telegram for the bot's username")
        return ""


def on_invite(call: CallbackQuery, bot: TeleBot) -> None:
    user = sync_sender(call.from_user)
    link = f"https://t.me/{_bot_username(bot) or '<bot>'}?start=r{referral_code(user=user)}"
    joined, bought = referral_counts(telegram_id=user.telegram_id)
    screen = screens.invite(
        link,
        joined=joined,
        bought=bought,
        percent=settings.SHOP_REFERRAL_REWARD_PERCENT,
        days=settings.SHOP_REFERRAL_REWARD_DAYS,
    )
    show_in_place(bot, call, screen)


def register(bot: TeleBot) -> None:
    bot.register_callback_query_handler(on_promo, func=callbacks.action_is("promo"), pass_bot=True)
    bot.register_callback_query_handler(on_promo_cancel, func=callbacks.action_is("promo_cancel"), pass_bot=True)
    bot.register_callback_query_handler(on_invite, func=callbacks.action_is("invite"), pass_bot=True)
    bot.register_message_handler(
        on_promo_code, func=awaited_as_promo_code, content_types=["text"], chat_types=PRIVATE, pass_bot=True
    )
