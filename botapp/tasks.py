"""Background work, kept in the database (django-tasks): deliveries Telegram could not take at once.

`runbot` runs a worker for these; a webhook deployment runs `manage.py db_worker`.
"""

import logging
from datetime import timedelta

from django.utils import timezone
from django_tasks import task

from botapp import staff
from botapp.bot import create_bot
from botapp.delivery import Delivery, deliver_purchase
from shop import selectors
from shop.models import Purchase
from shop.services import DELIVERY_CLAIM_TIMEOUT

log = logging.getLogger(__name__)

MAX_DELIVERY_ATTEMPTS = 20  # with the backoff below: retries for about a day


def delivery_backoff(attempt: int) -> timedelta:
    """30 s, 1 min, 2 min, ... up to an hour between attempts."""
    return timedelta(seconds=min(30 * 2 ** (attempt - 1), 3600))


def schedule_delivery(purchase_id: int, *, attempt: int = 1, again: bool = False, delay: timedelta | None = None):
    run_after = timezone.now() + (delay if delay is not None else timedelta(0))
    return deliver_purchase_task.using(run_after=run_after).enqueue(purchase_id, attempt=attempt, again=again)


@task()
def deliver_purchase_task(purchase_id: int, attempt: int = 1, again: bool = False) -> str:
    result = deliver_purchase(create_bot(), purchase_id, again=again)
    if result is Delivery.BUSY:
        schedule_delivery(purchase_id, attempt=attempt, again=again, delay=DELIVERY_CLAIM_TIMEOUT + timedelta(seconds=5))
    elif result is Delivery.RETRY:
        if attempt < MAX_DELIVERY_ATTEMPTS:
            schedule_delivery(purchase_id, attempt=attempt + 1, delay=delivery_backoff(attempt), again=again)
        else:
            purchase = Purchase.objects.select_related("product", "user").get(pk=purchase_id)
            log.error("giving up delivering purchase %s after %s attempts", purchase_id, attempt)
            staff.notify_staff(create_bot(), staff.delivery_failed_alert(purchase, purchase.delivery_error))
    return result.value


def schedule_undelivered(telegram_id: int | None = None) -> int:
    """Queue every paid purchase whose content has not arrived (after a restart, or an unblock)."""
    purchases = (
        selectors.purchase_list_undelivered()
        if telegram_id is None
        else selectors.purchase_list_undelivered_for_user(telegram_id=telegram_id)
    )
    ids = list(purchases.values_list("id", flat=True))
    for purchase_id in ids:
        schedule_delivery(purchase_id)
    return len(ids)
