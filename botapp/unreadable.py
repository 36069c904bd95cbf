"""Updates the bot library cannot read: set aside, so one odd update never stops the shop.

Telegram may send an update whose shape pyTelegramBotAPI does not expect (a new field, a kind it
reads wrongly). Polling and the webhook parse each update on its own; one that fails is logged
(update id, kind and the kind of error, never its content), kept for staff (UnreadableUpdate, a
read-only list in the admin, pruned after KEEP days), and confirmed to Telegram. A payment among
them alerts staff at once with its payment id: money is never left unnoticed.
"""

import copy
import json
import logging
from datetime import timedelta

from django.utils import timezone
from telebot import TeleBot
from telebot.types import Update

from botapp import staff
from botapp.models import UnreadableUpdate

log = logging.getLogger("botapp.updates")

KEEP = timedelta(days=14)
PAYMENT_KINDS = ("successful_payment", "refunded_payment")


class NotStrictJSON(ValueError):
    """NaN or Infinity: Python reads them, but they are not JSON, and no database stores them as JSON."""


def parse_update(raw: dict) -> Update:
    """The update as telebot reads it; raises what telebot raises (the raw dict is left as it was)."""
    if not is_strict_json(raw):
        raise NotStrictJSON("NaN or Infinity in the update")
    return Update.de_json(copy.deepcopy(raw))


def is_strict_json(value) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except ValueError:
        return False
    return True


def update_kind(raw: dict) -> str:
    return next((key for key in raw if key != "update_id"), "empty")[:64]


def payment_in(raw: dict) -> dict | None:
    """The payment (or refund) an update's message carries, if any."""
    event = raw.get(update_kind(raw))
    if not isinstance(event, dict):
        return None
    for kind in PAYMENT_KINDS:
        if isinstance(event.get(kind), dict):
            return {
                "kind": kind,
                "payer": (event.get("from") or {}).get("id") if isinstance(event.get("from"), dict) else None,
                **event[kind],
            }
    return None


def _error_name(exc: Exception) -> str:
    """The error without anything the update said: a missing key is named (it is the library's), values never."""
    if isinstance(exc, KeyError | AttributeError | TypeError):
        return f"{type(exc).__name__}: {exc}"[:255]
    return type(exc).__name__


def set_aside(bot: TeleBot, raw: dict, exc: Exception) -> UnreadableUpdate:
    """Record an update that could not be read, and alert staff if it moved money. Safe to call again for the same update."""
    update_id, kind, payment = int(raw["update_id"]), update_kind(raw), payment_in(raw)
    log.error("update %s %s could not be read and was set aside: %s", update_id, kind, _error_name(exc))
    record, created = UnreadableUpdate.objects.get_or_create(
        update_id=update_id,
        defaults={
            "kind": kind,
            "is_payment": payment is not None,
            "error": _error_name(exc),
            "payload": raw if is_strict_json(raw) else {"not_json": repr(raw)[:10_000]},
        },
    )
    if created:
        UnreadableUpdate.objects.filter(received_at__lt=timezone.now() - KEEP).delete()
        if payment is not None:
            staff.notify_staff(bot, staff.unreadable_payment_alert(update_id, payment))
    return record
