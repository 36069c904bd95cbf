"""Recovery: picking up what a process that died left half done.

Deliveries and broadcast sends are claimed before anything goes to Telegram; a claim whose worker
died would hold its work until it runs out. Recovery settles such claims, queues every paid purchase
whose content has not arrived (and has no delivery waiting), and queues the broadcast sender if a
broadcast is being sent. `runbot` runs it at start (everything claimed before then belongs to a
process that is gone: Telegram lets one poller run per bot), and the background worker every few
minutes for claims that have run out, so a webhook deployment recovers too.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone
from django_tasks import TaskResultStatus, task
from django_tasks_db.models import DBTaskResult

from botapp.access_tasks import schedule_access_check
from botapp.tasks import deliveries_waiting, resume_broadcasts, schedule_deliveries
from shop.selectors.purchases import purchase_list_undelivered
from shop.services.broadcasts import BROADCAST_CLAIM_TIMEOUT, broadcast_release_claims
from shop.services.delivery import DELIVERY_CLAIM_TIMEOUT, purchase_release_delivery_claims

log = logging.getLogger(__name__)

RECOVERY_INTERVAL = timedelta(minutes=5)
RECENT = timedelta(minutes=1)


@dataclass(frozen=True)
class Recovery:
    deliveries_released: int  # claims of a dead worker given up
    broadcast_sends_released: int  # recipients put back in the queue
    deliveries_queued: int
    broadcast_resumed: bool


def recover(*, dead_before: datetime | None = None) -> Recovery:
    """Settle claims made before `dead_before` (default: those that have run out) and queue what is left to do."""
    now = timezone.now()
    released = purchase_release_delivery_claims(before=dead_before or now - DELIVERY_CLAIM_TIMEOUT)
    sends_released = broadcast_release_claims(before=dead_before or now - BROADCAST_CLAIM_TIMEOUT)
    undelivered = purchase_list_undelivered()
    if dead_before is None:
        # A delivery being made right now holds a live claim, and one that just failed is being given
        # its retry by the worker that tried it: both are left to their worker.
        undelivered = undelivered.exclude(delivery_claimed_at__gte=now - DELIVERY_CLAIM_TIMEOUT).exclude(
            updated_at__gte=now - RECENT
        )
    else:
        # At start-up a delivery waiting out a backoff goes now (Telegram may well be back): its task
        # is moved, not doubled, so it keeps its count of attempts.
        deliveries_waiting().update(run_after=now)
    queued = schedule_deliveries(list(undelivered.values_list("id", flat=True)))
    schedule_access_check()  # the chain of access checks, if it is missing (shop.access)
    recovery = Recovery(released, sends_released, queued, resume_broadcasts())
    if queued or released or sends_released:
        log.info(
            "Recovery: %d undelivered purchase(s) queued, %d delivery claim(s) and %d broadcast send(s) released.",
            queued,
            released,
            sends_released,
        )
    return recovery


def _recovery_queued() -> bool:
    return DBTaskResult.objects.filter(task_path=recover_task.module_path, status=TaskResultStatus.READY).exists()


def schedule_recovery(delay: timedelta = RECOVERY_INTERVAL) -> bool:
    """Keep one periodic sweep queued; True if this call queued it."""
    if _recovery_queued():
        return False
    recover_task.using(run_after=timezone.now() + delay).enqueue()
    return True


@task()
def recover_task() -> str:
    """The periodic sweep: recover, then queue the next run (whatever happened to this one)."""
    try:
        recovery = recover()
    finally:
        schedule_recovery()
    return f"{recovery.deliveries_queued} queued"
