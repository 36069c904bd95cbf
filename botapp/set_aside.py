"""Updates set aside for staff, so that one odd update never stops the shop.

Telegram may send an update whose shape pyTelegramBotAPI does not expect (a new field, a kind it
reads wrongly). Polling and the webhook parse each update on its own (botapp.dispatch.parse_update);
one that fails is logged (update id, kind and the kind of error, never its content), kept for staff
(SetAsideUpdate, a read-only list in the admin), and confirmed to Telegram. A payment update the
poller could not handle after many tries is kept the same way. A payment among them alerts staff at
once with its payment id, and is kept until staff delete it: money is never left unnoticed. The
others are pruned after KEEP days.
"""

import json
import logging
from datetime import timedelta

from django.utils import timezone
from telebot import TeleBot

from botapp import staff
from botapp.models import SetAsideUpdate
from shop.models.base import storable_string

log = logging.getLogger("botapp.updates")

KEEP = timedelta(days=14)
PAYMENT_KINDS = ("successful_payment", "refunded_payment")


def storable_json(value):
    """`value` as every database stores it in a JSON column: NUL (PostgreSQL refuses it) and lone
    surrogates (not UTF-8) replaced in every string, keys included."""
    if isinstance(value, str):
        return storable_string(value)
    if isinstance(value, dict):
        return {storable_json(key): storable_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [storable_json(item) for item in value]
    return value


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


def error_name(exc: Exception) -> str:
    """The error without anything the update said: a missing key is named (it is the library's), values never."""
    if isinstance(exc, KeyError | AttributeError | TypeError):
        return f"{type(exc).__name__}: {exc}"[:255]
    return type(exc).__name__


def set_aside(bot: TeleBot, raw: dict, *, error: str, alert: bool = True) -> SetAsideUpdate:
    """Keep an update for staff (once, however often it comes) and alert them if it moved money
    (`alert=False` when they have been told already)."""
    update_id, kind, payment = int(raw["update_id"]), update_kind(raw), payment_in(raw)
    log.error("update %s %s was set aside: %s", update_id, kind, error)
    record, created = SetAsideUpdate.objects.get_or_create(
        update_id=update_id,
        defaults={
            "kind": kind,
            "is_payment": payment is not None,
            "error": error[:255],
            "payload": storable_json(raw) if is_strict_json(raw) else {"not_json": repr(raw)[:10_000]},
        },
    )
    if created:
        SetAsideUpdate.objects.filter(received_at__lt=timezone.now() - KEEP, is_payment=False).delete()
        if payment is not None and alert:
            staff.notify_staff(bot, staff.unreadable_payment_alert(update_id, payment))
    return record


def set_aside_unreadable(bot: TeleBot, raw: dict, exc: Exception) -> SetAsideUpdate:
    """An update the bot library could not read."""
    return set_aside(bot, raw, error=f"unreadable: {error_name(exc)}")
