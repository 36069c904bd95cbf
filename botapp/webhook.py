"""`/telegram/webhook/`: Telegram POSTs updates here when the shop runs behind a web server.

The same handlers and services as polling: the update is processed before the answer, so a
non-2xx answer (Telegram then retries) means it was not handled. Telegram sends a copy of an update
when the first request is slow, so copies can arrive together: each update is claimed before it is
handled (one INSERT that only one request can win). A copy of an update already handled gets 200; a
copy of one still being handled gets 503, so Telegram sends it again later, and an update whose
request died is taken over once its claim is older than CLAIM_LEASE: no update is lost to a copy.
Payments and refunds are the exception: their recording is exactly-once by payment id, so each copy
is handled, and a copy is never answered 200 for a recording that then failed.

The answer to a button press or a checkout goes back in the HTTP reply itself (Telegram allows one
Bot API call there): one round trip less per press. A request answered with an error carries none;
Telegram sends the update again and it is answered then.
"""

import json
import logging
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseForbidden, JsonResponse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from botapp.bot import shared_bot
from botapp.dispatch import must_not_be_lost, parse_update, process_update
from botapp.models import HandledUpdate
from botapp.set_aside import set_aside_unreadable
from botapp.telegram.http import webhook_reply

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
KEEP_HANDLED = timedelta(days=2)  # Telegram keeps an update for at most a day
CLAIM_LEASE = timedelta(minutes=5)  # longer than any update takes (a 50 MB upload included)


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
        set_aside_unreadable(bot, data, exc)
        return HttpResponse()
    # Payments and refunds are recorded exactly once by their payment id, so every copy is handled
    # (a copy must never answer for a recording that then failed). Anything else is claimed first.
    payment = must_not_be_lost(update)
    if payment:
        if HandledUpdate.objects.filter(update_id=update_id, done=True).exists():
            return HttpResponse()  # a repeat: handled already
    else:
        claim = _claim(update_id)
        if claim == DONE:
            return HttpResponse()  # a repeat: handled already
        if claim == BUSY:
            # Another request is handling it right now. Telegram sends it again later: by then it is
            # done (200), or that request failed and released it, or died and its claim ran out.
            return HttpResponse(status=503, headers={"Retry-After": "10"})
    handled = False
    try:
        with webhook_reply() as reply:
            handled = process_update(bot, update)
    finally:  # also when something escaped (Django answers 500)
        if not payment:
            if handled:
                _mark_done(update_id)
            else:
                HandledUpdate.objects.filter(update_id=update_id).delete()  # the repeat is handled afresh
    if not handled:
        return HttpResponse(status=500)  # Telegram sends it again
    if payment:
        HandledUpdate.objects.bulk_create([HandledUpdate(update_id=update_id)], ignore_conflicts=True)
    if update_id % 1000 == 0:
        HandledUpdate.objects.filter(handled_at__lt=timezone.now() - KEEP_HANDLED).delete()
    if reply.method:  # the press or checkout answered in this reply: Telegram makes the call
        return JsonResponse(reply.as_json())
    return HttpResponse()


OURS, DONE, BUSY = "ours", "done", "busy"


def _claim(update_id: int) -> str:
    """Take the update for this request: OURS (one INSERT only one request can win, or a claim whose
    request died), DONE (handled before) or BUSY (another request is handling it)."""
    table = connection.ops.quote_name(HandledUpdate._meta.db_table)
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (update_id, handled_at, done) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
            [update_id, connection.ops.adapt_datetimefield_value(now), False],
        )
        if cursor.rowcount == 1:
            return OURS
    claim = HandledUpdate.objects.filter(update_id=update_id).values("done", "handled_at").first()
    if claim is None:  # released between the two queries: Telegram will send it again
        return BUSY
    if claim["done"]:
        return DONE
    if claim["handled_at"] < now - CLAIM_LEASE:  # its request died: take it over, if nobody else just did
        taken = HandledUpdate.objects.filter(update_id=update_id, done=False, handled_at=claim["handled_at"])
        if taken.update(handled_at=now):
            return OURS
    return BUSY


def _mark_done(update_id: int) -> None:
    """The claimed update is handled: one UPDATE, as plain as the claim (this runs for every update)."""
    table = connection.ops.quote_name(HandledUpdate._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET done = %s WHERE update_id = %s", [True, update_id])


def _not_json(constant: str):
    raise ValueError(f"{constant} is not JSON")
