"""Sending broadcasts to customers: Telegram's pace, each customer at most once.

A background task (botapp.tasks.send_broadcasts_task) calls `send_broadcasts` for a few seconds'
worth of messages, then queues itself again, so a cancel or a restart takes effect quickly and
the worker is never held for long. Broadcasts go out one at a time, oldest first. How a customer
is kept from getting a message twice is told in shop/broadcasts.py.
"""

import logging
import threading
import time
from dataclasses import dataclass

import requests
from django.utils import translation
from telebot import TeleBot
from telebot.apihelper import ApiException, ApiTelegramException
from telebot.types import InlineKeyboardButton, InlineKeyboardMarkup

from botapp import callbacks, texts
from botapp.telegram.errors import never_reached_telegram, retry_after_seconds
from shop.models import Broadcast, BroadcastRecipient
from shop.selectors.broadcasts import broadcast_next_to_send
from shop.services.broadcasts import (
    broadcast_finish_if_complete,
    broadcast_recipient_begin_send,
    broadcast_recipient_mark_blocked,
    broadcast_recipient_mark_failed,
    broadcast_recipient_mark_sent,
    broadcast_recipient_release,
    broadcast_recipient_retry_later,
    broadcast_recipients_claim,
)

log = logging.getLogger(__name__)

MESSAGES_PER_SECOND = 25  # Telegram allows about 30 a second across chats
CHUNK_SECONDS = 5.0  # one task's share of sending
CLAIM_BATCH = 5  # recipients taken at a time
SEND_TIMEOUT = 10  # seconds for Telegram to answer one message
MAX_INLINE_RETRY_AFTER = 10.0  # a longer 429 wait ends the chunk; the task comes back after it
MAX_INLINE_RETRIES = 3
UNREACHABLE_PAUSE = 30.0  # Telegram could not be reached: try again after this
CLAIMS_PAUSE = 30.0  # only other senders' claims are left: look again after this


class RateLimiter:
    """At most `per_second` calls a second across this process's threads; sleeps to keep the pace."""

    def __init__(self, per_second: float, *, clock=time.monotonic, sleep=time.sleep):
        self.interval = 1.0 / per_second
        self.clock = clock
        self.sleep = sleep
        self.next_at = 0.0
        self.lock = threading.Lock()

    def wait(self) -> None:
        with self.lock:
            now = self.clock()
            if self.next_at > now:
                self.sleep(self.next_at - now)
                now = self.next_at
            self.next_at = now + self.interval

    def hold(self, seconds: float) -> None:
        """Telegram asked for a pause (429): nobody here sends before it is over."""
        with self.lock:
            self.next_at = max(self.next_at, self.clock() + seconds)


PACE = RateLimiter(MESSAGES_PER_SECOND)


@dataclass
class Chunk:
    processed: int = 0  # recipients whose outcome this chunk recorded
    pause: float | None = None  # stop sending for this long (Telegram's 429, or unreachable)


def send_broadcasts(bot: TeleBot, *, pace: RateLimiter | None = None, max_seconds: float | None = None) -> float | None:
    """Send a chunk of the broadcast in progress. Returns seconds until the next chunk, None if nothing is left."""
    broadcast = broadcast_next_to_send()
    if broadcast is None:
        return None
    chunk = send_broadcast_chunk(bot, broadcast, pace=pace, max_seconds=max_seconds)
    if chunk.pause is not None:
        return chunk.pause
    if broadcast_finish_if_complete(broadcast_id=broadcast.pk):
        return 0.0 if broadcast_next_to_send() else None
    # Nothing was ours to send: what is left is claimed by a sender that may have died.
    return 0.0 if chunk.processed else CLAIMS_PAUSE


def send_broadcast_chunk(
    bot: TeleBot, broadcast: Broadcast, *, pace: RateLimiter | None = None, max_seconds: float | None = None
) -> Chunk:
    """Claim and send batches of recipients for about `max_seconds` (at least one batch)."""
    pace = pace or PACE
    deadline = time.monotonic() + (CHUNK_SECONDS if max_seconds is None else max_seconds)
    chunk = Chunk()
    while batch := broadcast_recipients_claim(broadcast_id=broadcast.pk, limit=CLAIM_BATCH):
        try:
            while batch:
                pause = send_to_recipient(
                    bot, _text_for(broadcast, batch[0]), batch[0], pace=pace, button_product_id=broadcast.button_product_id
                )
                batch.pop(0)
                if pause is not None:
                    chunk.pause = pause
                    return chunk
                chunk.processed += 1
        finally:
            # The rest go back for the next chunk; one an error struck mid-send stays tried, never resent.
            for recipient in batch:
                broadcast_recipient_release(recipient=recipient)
        if time.monotonic() >= deadline:
            break
    return chunk


def _text_for(broadcast: Broadcast, recipient: BroadcastRecipient) -> str:
    """The broadcast's text; a back-in-stock one in the customer's own language."""
    if not (broadcast.is_restock and broadcast.button_product):
        return broadcast.text
    with translation.override(texts.language_for(recipient.user.language_code)):
        return texts.back_in_stock(broadcast.button_product)


def _product_button(product_id: int, language_code: str | None) -> InlineKeyboardMarkup:
    with translation.override(texts.language_for(language_code)):
        label = texts.button_view_product()
    return InlineKeyboardMarkup().row(InlineKeyboardButton(label, callback_data=callbacks.product(product_id)))


def send_to_recipient(
    bot: TeleBot, text: str, recipient: BroadcastRecipient, *, pace: RateLimiter, button_product_id: int | None = None
) -> float | None:
    """Send one customer their copy and record the outcome; a number means: pause sending that long."""
    if not broadcast_recipient_begin_send(recipient=recipient):
        return None  # cancelled meanwhile
    chat_id = recipient.user.telegram_id
    markup = _product_button(button_product_id, recipient.user.language_code) if button_product_id else None
    for _attempt in range(MAX_INLINE_RETRIES):
        pace.wait()
        try:
            bot.send_message(chat_id, text, reply_markup=markup, timeout=SEND_TIMEOUT)
        except ApiTelegramException as exc:
            error = f"{exc.error_code} {exc.description}"
            if exc.error_code == 429:
                retry_after = retry_after_seconds(exc) or 1.0
                pace.hold(retry_after)
                if retry_after <= MAX_INLINE_RETRY_AFTER:
                    log.info("flood control: waiting %s s before sending to %s again", retry_after, chat_id)
                    continue
                broadcast_recipient_retry_later(recipient=recipient)
                return retry_after
            if exc.error_code == 403:
                broadcast_recipient_mark_blocked(recipient=recipient, error=error)
            else:
                broadcast_recipient_mark_failed(recipient=recipient, error=error)
            return None
        except requests.RequestException as exc:
            if never_reached_telegram(exc):
                log.warning("Telegram unreachable (%s); broadcast paused", type(exc).__name__)
                broadcast_recipient_retry_later(recipient=recipient)
                return UNREACHABLE_PAUSE
            # The request may have been delivered before the connection failed: not repeated.
            broadcast_recipient_mark_failed(
                recipient=recipient, error=f"{type(exc).__name__}: the message may or may not have arrived."
            )
            return None
        except ApiException as exc:  # an answer that is not the Bot API's (a proxy's error page)
            broadcast_recipient_mark_failed(recipient=recipient, error=str(exc))
            return None
        if not broadcast_recipient_mark_sent(recipient=recipient):
            log.warning("sent broadcast %s to %s, but its claim had run out", recipient.broadcast_id, chat_id)
        return None
    broadcast_recipient_retry_later(recipient=recipient)
    return MAX_INLINE_RETRY_AFTER
