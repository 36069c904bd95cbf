"""`/telegram/webhook/`: Telegram POSTs updates here when the shop runs behind a web server.

The same handlers and services as polling: the update is processed before the answer, so a
non-2xx answer (Telegram then retries) means it was not handled. Telegram sends a copy of an update
when the first request is slow, so copies can arrive together: each update is claimed before it is
handled (one INSERT that only one request can win), and a copy that finds the claim is answered at
once. A payment is the exception: its recording is exactly-once by payment id, so each copy is
handled, and a copy is never answered 200 for a recording that then failed.
"""

import json
import logging
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from botapp.bot import shared_bot
from botapp.dispatch import must_not_be_lost, process_update
from botapp.models import HandledUpdate
from botapp.unreadable import parse_update, set_aside

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
KEEP_HANDLED = timedelta(days=2)  # Telegram keeps an update for at most a day


@csrf_exempt
@require_POST
def telegram_webhook(request):
    secret = settings.TELEGRAM_WEBHOOK_SECRET
    if not secret or not constant_time_compare(request.headers.get(SECRET_HEADER, ""), secret):
        return HttpResponseForbidden()
    try:
        data = json.loads(request.body, parse_constant=_not_json)  # NaN and Infinity are not JSON
        update_id = int(data["update_id"])
        if not 0 <= update_id < 2**63:
            raise ValueError("update_id out of range")
        if not all(isinstance(value, dict) for key, value in data.items() if key != "update_id"):
            raise ValueError("every part of an update is an object")  # Telegram's Update has no other fields
    except Exception as exc:  # whatever the body is, it is not an update
        log.warning("webhook: malformed update (%s)", type(exc).__name__)
        return HttpResponseBadRequest()
    bot = shared_bot()
    try:
        update = parse_update(data)
    except Exception as exc:  # an update, but one the library cannot read: set aside, Telegram need not repeat it
        set_aside(bot, data, exc)
        return HttpResponse()
    # Payments are recorded exactly once by their payment id, so every copy is handled (a copy's
    # answer must never stand for a recording that then failed). Anything else is claimed first.
    payment = must_not_be_lost(update)
    if payment:
        if HandledUpdate.objects.filter(update_id=update_id).exists():
            return HttpResponse()  # a repeat: handled already
    elif not _claim(update_id):
        return HttpResponse()  # a copy or a repeat: handled already, or being handled right now
    handled = False
    try:
        handled = process_update(bot, update)
    finally:  # also when something escaped (Django answers 500)
        if not handled and not payment:
            HandledUpdate.objects.filter(update_id=update_id).delete()  # the repeat is handled afresh
    if not handled:
        return HttpResponse(status=500)  # Telegram sends it again
    if payment:
        HandledUpdate.objects.bulk_create([HandledUpdate(update_id=update_id)], ignore_conflicts=True)
    if update_id % 1000 == 0:
        HandledUpdate.objects.filter(handled_at__lt=timezone.now() - KEEP_HANDLED).delete()
    return HttpResponse()


def _claim(update_id: int) -> bool:
    """Take the update for this request, in one query: False if another request has it (or had it)."""
    table = connection.ops.quote_name(HandledUpdate._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (update_id, handled_at) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            [update_id, connection.ops.adapt_datetimefield_value(timezone.now())],
        )
        return cursor.rowcount == 1


def _not_json(constant: str):
    raise ValueError(f"{constant} is not JSON")
