"""The periodic access check: end the memberships whose paid time is over and remove their members from the chats.

A chain of background tasks (django-tasks, database backend) that queues its own next run, like the
recovery sweep (botapp/recovery.py), so it runs wherever a worker runs (`runbot`'s, or `db_worker` next to
a webhook) and survives restarts: recovery, run at start and every few minutes, queues it if it is missing.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django_tasks import TaskResultStatus, task
from django_tasks_db.models import DBTaskResult
from telebot import TeleBot

from botapp.access import remove_ended_members
from botapp.telegram.client import api_client
from shop.access.services import memberships_expire

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AccessCheck:
    ended: int  # memberships whose paid time ran out now
    removed: int  # members taken out of the chat (or settled as refused)


def access_check(bot: TeleBot, *, now: datetime | None = None) -> AccessCheck:
    """End what is over at `now` (default: the clock's now) and remove those members."""
    ended = memberships_expire(now=now)
    removed = remove_ended_members(bot)
    if ended or removed:
        log.info("Access check: %d membership(s) ended, %d member(s) removed.", len(ended), removed)
    return AccessCheck(len(ended), removed)


def access_check_interval() -> timedelta:
    return timedelta(seconds=settings.ACCESS_CHECK_SECONDS)


def _access_check_queued() -> bool:
    return DBTaskResult.objects.filter(task_path=access_check_task.module_path, status=TaskResultStatus.READY).exists()


def schedule_access_check(delay: timedelta | None = None) -> bool:
    """Keep one periodic access check queued; True if this call queued it."""
    if _access_check_queued():
        return False
    access_check_task.using(run_after=timezone.now() + (access_check_interval() if delay is None else delay)).enqueue()
    return True


@task()
def access_check_task() -> str:
    """The periodic check: run it, then queue the next one (whatever happened to this one)."""
    try:
        check = access_check(api_client())
    finally:
        schedule_access_check()
    return f"{check.ended} ended, {check.removed} removed"
