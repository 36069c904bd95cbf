"""Feeding one update to the bot: the single entry point for polling, the webhook and tests.

Updates go in one at a time, so a handler that fails can only fail its own update; the
failure is logged and the user gets an apology instead of silence.
"""

import json
import logging
import time

import requests
from django.db import connection
from django.utils import translation
from telebot import TeleBot
from telebot.types import Update

from botapp import texts, waits
from botapp.flood import flood_gate
from botapp.private_chat import pressed_outside_private, process_in_private
from botapp.render import answer_callback
from botapp.telegram.errors import is_transient
from botapp.telegram.http import simulating
from botapp.texts import language_for
from shop.trial import is_test_customer

log = logging.getLogger("botapp.updates")

UPDATE_KINDS = (
    "message",
    "edited_message",
    "callback_query",
    "pre_checkout_query",
    "shipping_query",
    "my_chat_member",
    "chat_member",
    "chat_join_request",
    "inline_query",
    "channel_post",
    "edited_channel_post",
)


def update_kind(update: Update) -> str:
    for kind in UPDATE_KINDS:
        if getattr(update, kind, None) is not None:
            return kind
    return "other"


def update_sender(update: Update):
    event = getattr(update, update_kind(update), None)
    return getattr(event, "from_user", None)


def _private_chat_id(update: Update) -> int | None:
    chat = getattr(update.message, "chat", None)
    if chat is not None and chat.type == "private":
        return chat.id
    sender = getattr(update.callback_query, "from_user", None)
    return getattr(sender, "id", None)


# Money moved with these: if handling one fails, it must come again rather than be dropped.
MUST_NOT_BE_LOST = ("successful_payment", "refunded_payment")
RETRY = "will be retried"


def must_not_be_lost(update: Update) -> bool:
    # Telegram always names the payer by id; a payment message without one can never be handled.
    message = update.message
    return (
        message is not None
        and message.content_type in MUST_NOT_BE_LOST
        and message.from_user is not None
        and isinstance(message.from_user.id, int)
    )


class NotStrictJSON(ValueError):
    """NaN or Infinity: Python reads them, but they are not JSON, and no database stores them as JSON."""


def parse_update(raw: dict) -> Update:
    """The update as telebot reads it, made ready for the handlers; raises what telebot raises
    (the raw dict is left as it was)."""
    try:  # a copy for telebot to take apart (it changes what it reads), made through JSON: faster than deepcopy
        text = json.dumps(raw, allow_nan=False)
    except (ValueError, TypeError):  # NaN or Infinity (or not JSON at all)
        raise NotStrictJSON("NaN or Infinity in the update") from None
    update = Update.de_json(json.loads(text))
    if update.message is not None and update.message.chat is None:
        raise ValueError("a message without its chat")  # Telegram always sends one; no handler could answer
    return _named(update)


def _named(update: Update) -> Update:
    if update.message and update.message.content_type is None and update.message.refunded_payment:
        # telebot gives refunded_payment no content type; name it so handlers and must_not_be_lost see it
        update.message.content_type = "refunded_payment"
    return update


def process_update(bot: TeleBot, update: Update) -> bool:
    """Handle one update. False: it must be handled again (polling does not confirm it, the
    webhook answers 500 so Telegram repeats it): a payment whose handling failed, or any update
    the Bot API could not take just then. Other failures are logged, the user gets an apology,
    and the update counts as done."""
    started = time.perf_counter()
    _named(update)  # for updates not read by parse_update (tests build theirs with Update.de_json)
    sender = update_sender(update)
    if is_test_customer(getattr(sender, "id", None)) and not simulating():
        # test customers exist only in "Try the bot": such an update from elsewhere is forged, and dropped
        log.warning("update %s %s: from a test customer outside Try the bot, refused", update.update_id, update_kind(update))
        return True
    if sender is not None and not must_not_be_lost(update) and update.pre_checkout_query is None:
        allowed, warn = flood_gate().allow(sender.id)
        if not allowed:
            log.info("update %s %s from %s: dropped, too many updates", update.update_id, update_kind(update), sender.id)
            _slow_down(bot, update, warn=warn)
            return True
    outcome = "ok"
    queries = QueryCounter()
    with connection.execute_wrapper(queries), translation.override(language_for(getattr(sender, "language_code", None))):
        try:
            if update.callback_query is not None:
                waits.after_press(update.callback_query)  # before any handler: a press may end a wait
            if pressed_outside_private(update):
                process_in_private(bot, update)
            else:
                bot.process_new_updates([update])
        except Exception as exc:
            retry = must_not_be_lost(update) or is_transient(exc)
            outcome = RETRY if retry else "failed"
            if isinstance(exc, requests.RequestException):
                # Its message holds the request URL: the token and what was sent. Name it only.
                log.warning("update %s failed: the Bot API could not be reached (%s)", update.update_id, type(exc).__name__)
            elif is_transient(exc):
                log.warning("update %s failed: the Bot API answered %s", update.update_id, exc)
            else:
                log.exception("update %s failed", update.update_id)
            if not retry:
                _apologize(bot, update)
    log.info(
        "update %s %s from %s: %s in %.1f ms, %d queries",
        update.update_id,
        update_kind(update),
        getattr(sender, "id", "-"),
        outcome,
        (time.perf_counter() - started) * 1000,
        queries.count,
    )
    return outcome != RETRY


class QueryCounter:
    """Counts the SQL statements an update costs (for the log line and the benchmark)."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def _slow_down(bot: TeleBot, update: Update, *, warn: bool) -> None:
    """Ask once in a while; a dropped button press is always answered, or its spinner keeps turning."""
    try:
        if update.callback_query:
            bot.answer_callback_query(update.callback_query.id, texts.slow_down() if warn else None)
        elif warn:
            chat_id = _private_chat_id(update)
            if chat_id is not None:
                bot.send_message(chat_id, texts.slow_down())
    except Exception:
        log.info("could not ask a flooding user to slow down")


def _apologize(bot: TeleBot, update: Update) -> None:
    """Best effort: whatever broke the update must not break the apology (nor escape from here)."""
    try:
        if update.callback_query:
            answer_callback(bot, update.callback_query.id)
        chat_id = _private_chat_id(update)
        if chat_id is not None:
            bot.send_message(chat_id, texts.something_went_wrong())
    except Exception:
        log.warning("could not apologise for the failed update %s", update.update_id)
