"""Chat access on Telegram's side: checking a chat, letting buyers in, and removing those whose access ended.

The rules are shop.access's; this module makes the Bot API calls and tells people. A refusal that
only staff can fix (the bot lost its rights, the chat is gone) alerts staff once per chat and
problem (`ChatAccess.problem`), and the customer is told what happens; nothing here lets one
refusal stop the rest.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

import requests
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from telebot import TeleBot
from telebot.apihelper import ApiException, ApiTelegramException
from telebot.types import InlineKeyboardButton, InlineKeyboardMarkup

from botapp import screens, staff, texts
from botapp.telegram.errors import error_text, is_transient
from botapp.texts import language_for
from shop.access.models import ChatAccess, Membership
from shop.access.selectors import membership_paid_for_chat, memberships_to_remove
from shop.access.services import (
    chat_access_report_problem,
    membership_mark_removed,
    membership_recent_invite_link,
    membership_set_invite_link,
)
from shop.models import Purchase
from shop.telegram_html import escape

log = logging.getLogger(__name__)

INVITE_LINK_LIFETIME = timedelta(hours=23)  # "expiring within a day"
IN_CHAT = ("creator", "administrator", "member", "restricted")
ADMIN = ("creator", "administrator")


# --- the chat, as staff set it up ---


@dataclass(frozen=True)
class ChatCheck:
    title: str
    problems: list[str]


def chat_check(bot: TeleBot, chat_id: int) -> ChatCheck:
    """Whether the bot can sell access to this chat: it is there, an administrator allowed to invite and to ban
    users. `problems` says in plain words what is missing (empty: all fine). Raises what a network error raises."""
    try:
        chat = bot.get_chat(chat_id)
    except ApiTelegramException as exc:
        if is_transient(exc):
            raise
        problem = _("The bot cannot see this chat (%(reason)s): add the bot to it as an administrator.")
        return ChatCheck("", [problem % {"reason": exc.description}])
    if chat.type not in ("channel", "supergroup", "group"):
        return ChatCheck(chat.title or "", [_("This is not a channel or a group.")])
    member = bot.get_chat_member(chat_id, bot.user.id)
    if member.status not in ADMIN:
        return ChatCheck(chat.title or "", [_("The bot is in the chat but not an administrator: make it one.")])
    problems = []
    if member.status == "administrator" and not member.can_invite_users:
        problems.append(_("The bot may not invite users: give it the right to invite users (add members) via links."))
    if member.status == "administrator" and not member.can_restrict_members:
        problems.append(_("The bot may not ban users: give it the right to ban users (restrict members)."))
    return ChatCheck(chat.title or "", problems)


def problem_alert(access: ChatAccess, problem: str) -> str:
    return (
        f"⚠️ Chat access of {escape(access.product.name)} ({escape(str(access))}, <code>{access.chat_id}</code>): "
        f"Telegram refused: {escape(problem)}. Check the bot's admin rights in the chat, then save the product's "
        "chat access in the admin again."
    )


def report_problem(bot: TeleBot, access: ChatAccess, exc: ApiTelegramException) -> None:
    """A refusal in this chat staff must fix: they are told once per problem."""
    problem = exc.description or str(exc.error_code)
    log.warning("chat %s refused: %s", access.chat_id, problem)
    if chat_access_report_problem(access=access, problem=problem):
        staff.notify_staff(bot, problem_alert(access, problem))


# --- letting buyers in ---


def is_in_chat(bot: TeleBot, chat_id: int, user_id: int) -> bool:
    return bot.get_chat_member(chat_id, user_id).status in IN_CHAT


def invite_link_create(bot: TeleBot, access: ChatAccess, membership: Membership) -> str:
    """A link for this buyer: one that asks to join (the bot approves buyers only) or lets one person in.

    One-person links: one purchase, one live link. The one made within INVITE_LINK_COOLDOWN is given again;
    an older one is revoked before a new one is made (an unused link handed to a friend stops working), and
    of two presses at once only one link stays live."""
    expire = int((timezone.now() + INVITE_LINK_LIFETIME).timestamp())
    name = f"member {membership.pk}"
    if access.entry == ChatAccess.Entry.JOIN_REQUEST:
        link = bot.create_chat_invite_link(access.chat_id, name=name, expire_date=expire, creates_join_request=True)
        membership_set_invite_link(membership=membership, link=link.invite_link)
        return link.invite_link
    recent = membership_recent_invite_link(membership=membership)
    if recent:
        return recent
    previous = membership.invite_link
    if previous:
        _revoke_link(bot, access, previous)
    link = bot.create_chat_invite_link(access.chat_id, name=name, expire_date=expire, member_limit=1)
    if not membership_set_invite_link(membership=membership, link=link.invite_link, replaces=previous):
        _revoke_link(bot, access, link.invite_link)  # another press made one meanwhile: that one is the live one
        membership.refresh_from_db(fields=["invite_link", "invite_link_at"])
        return membership.invite_link
    return link.invite_link


def _join_markup(access: ChatAccess, link: str) -> InlineKeyboardMarkup:
    markup = InlineKeyboardMarkup()
    markup.row(InlineKeyboardButton(texts.button_join(str(access)), url=link))
    for row in screens.after_content().keyboard:
        markup.row(*row)
    return markup


def send_invite(bot: TeleBot, access: ChatAccess, membership: Membership, *, heading: str) -> None:
    """The buyer's invite link, with the product's welcome text; or word that they are in the chat already."""
    product = membership.product
    text = f"{heading}\n\n{product.hidden_content}" if product.hidden_content else heading
    if is_in_chat(bot, access.chat_id, membership.user.telegram_id):
        bot.send_message(membership.user.telegram_id, f"{text}\n\n{texts.access_already_member(product.name)}")
        return
    link = invite_link_create(bot, access, membership)
    hint = texts.access_join_request_hint() if access.entry == ChatAccess.Entry.JOIN_REQUEST else texts.access_invite_hint()
    bot.send_message(membership.user.telegram_id, f"{text}\n\n{hint}", reply_markup=_join_markup(access, link))


def deliver_access(bot: TeleBot, purchase: Purchase, access: ChatAccess) -> None:
    """A paid purchase of chat access, handed over: the invite link (a renewal: word that it was renewed).
    Raises what the Bot API raises, as any delivery does (botapp.delivery decides what follows)."""
    if purchase.payment_type == Purchase.PaymentType.TEST:  # Try the bot: what a buyer reads, and no way into the chat
        _send_trial_access(bot, purchase, access)
        return
    period = getattr(purchase, "access_period", None)
    if period is None:  # recorded while under review: staff settle it (grant, or extend the member by hand)
        return
    membership = Membership.objects.select_related("user", "product").get(pk=period.membership_id)
    if membership.state != Membership.State.ACTIVE:
        return  # refunded or revoked meanwhile
    if period.renewal:
        renewed = texts.access_renewed(purchase.product.name, texts.short_date(membership.paid_until))
        if is_in_chat(bot, access.chat_id, membership.user.telegram_id):
            bot.send_message(membership.user.telegram_id, renewed)
        else:  # removed before the renewal arrived (or left): a way back in
            send_invite(bot, access, membership, heading=renewed)
        return
    # a refusal is the delivery's to settle: staff are told of this purchase, the buyer that staff will help
    send_invite(bot, access, membership, heading=texts.access_heading(purchase.product.name))


def _send_trial_access(bot: TeleBot, purchase: Purchase, access: ChatAccess) -> None:
    """A test payment's access: the product's welcome text and a note where a buyer's invite link would be."""
    product = purchase.product
    heading = texts.access_heading(product.name)
    text = f"{heading}\n\n{product.hidden_content}" if product.hidden_content else heading
    markup = InlineKeyboardMarkup()
    for row in screens.after_content().keyboard:
        markup.row(*row)
    bot.send_message(purchase.user.telegram_id, f"{text}\n\n{texts.access_trial_note(str(access))}", reply_markup=markup)


def subscription_stop(bot: TeleBot, membership: Membership) -> bool:
    """Stop Telegram renewing a member's subscription (staff revoked it: no more payments for nothing).
    False if Telegram refused or could not be asked (staff are told to refund or cancel by hand)."""
    if not membership.subscription_charge_id:
        return True
    try:
        bot.edit_user_star_subscription(membership.user.telegram_id, membership.subscription_charge_id, is_canceled=True)
    except (ApiTelegramException, ApiException, requests.RequestException) as exc:
        log.warning("could not cancel the subscription of membership %s: %s", membership.pk, error_text(exc))
        return False
    return True


# --- removing those whose access ended ---


def remove_member(bot: TeleBot, membership: Membership) -> bool:
    """Take an ended member out of the chat (ban, then unban, so they may come back by paying again) and tell
    them why. False: Telegram could not be asked now (the next check tries again)."""
    access = ChatAccess.objects.filter(product_id=membership.product_id).first()
    user_id = membership.user.telegram_id
    if access is not None and membership_paid_for_chat(telegram_id=user_id, chat_id=access.chat_id) is not None:
        membership_mark_removed(membership_id=membership.pk)  # paid through another product for this chat: they stay
        return True
    if access is not None:
        try:
            if membership.invite_link and access.entry == ChatAccess.Entry.INVITE_LINK:
                _revoke_link(bot, access, membership.invite_link)  # an unused one-person link must not let them back
            bot.ban_chat_member(access.chat_id, user_id, until_date=int((timezone.now() + timedelta(minutes=1)).timestamp()))
            bot.unban_chat_member(access.chat_id, user_id, only_if_banned=True)
        except ApiTelegramException as exc:
            if is_transient(exc):
                return False
            report_problem(bot, access, exc)  # staff remove them by hand; the customer is told all the same
            if membership_mark_removed(membership_id=membership.pk, error=f"{exc.error_code} {exc.description}"):
                _tell(bot, membership, texts.access_ended(membership.product.name, membership.end_reason))
            return True
        except (ApiException, requests.RequestException):
            return False
    if membership_mark_removed(membership_id=membership.pk):
        _tell(bot, membership, texts.access_ended(membership.product.name, membership.end_reason))
    return True


def _revoke_link(bot: TeleBot, access: ChatAccess, link: str) -> None:
    try:
        bot.revoke_chat_invite_link(access.chat_id, link)
    except ApiTelegramException as exc:
        if is_transient(exc):
            raise
        log.info("invite link of chat %s not revoked: %s", access.chat_id, exc.description)  # expired, say


def _tell(bot: TeleBot, membership: Membership, text: str) -> None:
    try:
        with translation.override(language_for(membership.user.language_code)):
            bot.send_message(membership.user.telegram_id, text)
    except Exception:
        log.info("could not tell %s about their access", membership.user.telegram_id)


def remove_ended_members(bot: TeleBot, *, limit: int = 200) -> int:
    """Remove the members whose access ended; returns how many were settled."""
    settled = 0
    for membership in memberships_to_remove()[:limit]:
        with translation.override(language_for(membership.user.language_code)):
            settled += remove_member(bot, membership)
    return settled
