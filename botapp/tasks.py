"""Background work, kept in the database (django-tasks): deliveries Telegram could not take at once, broadcasts.

`runbot` runs a worker for these; a webhook deployment runs `manage.py db_worker`.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_tasks import TaskResultStatus, task
from django_tasks_db.models import DBTaskResult

from botapp import staff
from botapp.bot import shared_bot
from botapp.broadcasting import send_broadcasts
from botapp.delivery import Delivery, deliver_purchase
from shop import broadcasts, selectors
from shop.models import Purchase
from shop.services import DELIVERY_CLAIM_TIMEOUT

log = logging.getLogger(__name__)

MAX_DELIVERY_ATTEMPTS = 20  # with the backoff below: retries for about a day


def delivery_backoff(attempt: int) -> timedelta:
    """DELIVERY_RETRY_SECONDS (30 s), then twice as long each time, up to an hour."""
    return timedelta(seconds=min(settings.DELIVERY_RETRY_SECONDS * 2 ** (attempt - 1), 3600))


def schedule_delivery(purchase_id: int, *, attempt: int = 1, again: bool = False, delay: timedelta | None = None):
    run_after = timezone.now() + (delay if delay is not None else timedelta(0))
    return deliver_purchase_task.using(run_after=run_after).enqueue(purchase_id, attempt=attempt, again=again)


@task()
def deliver_purchase_task(purchase_id: int, attempt: int = 1, again: bool = False) -> str:
    result = deliver_purchase(shared_bot(), purchase_id, again=again)
    if result is Delivery.BUSY:
        schedule_delivery(purchase_id, attempt=attempt, again=again, delay=DELIVERY_CLAIM_TIMEOUT + timedelta(seconds=5))
    elif result is Delivery.RETRY:
        if attempt < MAX_DELIVERY_ATTEMPTS:
            schedule_delivery(purchase_id, attempt=attempt + 1, delay=delivery_backoff(attempt), again=again)
        else:
            purchase = Purchase.objects.select_related("product", "user").get(pk=purchase_id)
            log.error("giving up delivering purchase %s after %s attempts", purchase_id, attempt)
            staff.notify_staff(shared_bot(), staff.delivery_failed_alert(purchase, purchase.delivery_error))
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


BROADCAST_ERROR_PAUSE = timedelta(seconds=30)


def _broadcast_sender_queued(*, by=None) -> bool:
    queued = DBTaskResult.objects.filter(task_path=send_broadcasts_task.module_path, status=TaskResultStatus.READY)
    return (queued if by is None else queued.filter(run_after__lte=by)).exists()


def schedule_broadcast_sending(delay: timedelta = timedelta(0)) -> bool:
    """Queue the broadcast sender, unless a run is queued already by then; True if queued.

    Called for every chunk and when staff start a broadcast, so the check keeps it to one chain
    of tasks (a second chain would only double the pace: no recipient is ever sent to twice).
    """
    run_after = timezone.now() + delay
    if _broadcast_sender_queued(by=run_after):
        return False
    send_broadcasts_task.using(run_after=run_after).enqueue()
    return True


@task()
def send_broadcasts_task() -> str:
    """A few seconds of broadcast sending, then the next run is queued (restarts and cancels act quickly)."""
    try:
        pause = send_broadcasts(shared_bot())
    except Exception:
        log.exception("sending broadcasts failed; trying again in %s", BROADCAST_ERROR_PAUSE)
        pause = BROADCAST_ERROR_PAUSE.total_seconds()
    if pause is None:
        return "idle"
    schedule_broadcast_sending(timedelta(seconds=pause))
    return "continues"


def revive_broadcast_sending() -> bool:
    """A broadcast is sending but nothing has happened for a while: queue the sender unless a run is
    queued already (waiting out Telegram's flood control, or for a worker to run it)."""
    if _broadcast_sender_queued():
        return False
    send_broadcasts_task.using(run_after=timezone.now()).enqueue()
    return True


def resume_broadcasts() -> bool:
    """After a restart: queue the sender if a broadcast is being sent (its last task may have died with the process)."""
    if broadcasts.broadcast_next_to_send() is None:
        return False
    schedule_broadcast_sending()
    return True
