"""`/telegram/webhook/`: Telegram POSTs updates here when the shop runs behind a web server.

The same handlers and services as polling: the update is processed before the answer, so a
non-2xx answer (Telegram then retries) means it was not handled.
"""

import json
import logging
from datetime import timedelta

from django.conf import settings
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from telebot.types import Update

from botapp.bot import shared_bot
from botapp.dispatch import process_update
from botapp.models import HandledUpdate

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
        data = json.loads(request.body)
        update_id = int(data["update_id"])
        if not 0 <= update_id < 2**63:
            raise ValueError("update_id out of range")
        update = Update.de_json(data)
    except Exception as exc:  # whatever the body is, it is not an update we can use
        log.warning("webhook: malformed update (%s)", type(exc).__name__)
        return HttpResponseBadRequest()
    if HandledUpdate.objects.filter(update_id=update_id).exists():
        return HttpResponse()  # a repeat: handled already
    if not process_update(shared_bot(), update):
        return HttpResponse(status=500)  # Telegram sends it again
    # ignore_conflicts: the same update handled by another worker at the same time
    HandledUpdate.objects.bulk_create([HandledUpdate(update_id=update_id)], ignore_conflicts=True)
    if update_id % 1000 == 0:
        HandledUpdate.objects.filter(handled_at__lt=timezone.now() - KEEP_HANDLED).delete()
    return HttpResponse()
