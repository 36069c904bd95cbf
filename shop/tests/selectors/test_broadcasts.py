"""A broadcast's progress as staff watch it (selectors)."""

import datetime

import pytest
from django.utils import timezone

from shop.models import Broadcast
from shop.selectors.broadcasts import BROADCAST_STALLED_AFTER, broadcast_progress
from shop.services.broadcasts import (
    broadcast_recipient_begin_send,
    broadcast_recipient_mark_failed,
    broadcast_recipient_mark_sent,
    broadcast_recipients_claim,
)
from shop.testing.factories import UserFactory, broadcast_started

pytestmark = pytest.mark.django_db


def test_progress_in_one_query(django_assert_num_queries):
    broadcast = broadcast_started(5)
    UserFactory(is_blocked=True)
    sent, failed = broadcast_recipients_claim(broadcast_id=broadcast.pk, limit=2)
    for recipient in (sent, failed):
        broadcast_recipient_begin_send(recipient=recipient)
    broadcast_recipient_mark_sent(recipient=sent)
    broadcast_recipient_mark_failed(recipient=failed, error="400 Bad Request: chat not found")

    with django_assert_num_queries(1):
        progress = broadcast_progress(broadcast_id=broadcast.pk)

    assert (progress.total, progress.sent, progress.failed, progress.blocked, progress.remaining) == (5, 1, 1, 0, 3)
    assert (progress.done, progress.percent, progress.finished, progress.stalled) == (2, 40, False, False)
    assert broadcast_progress(broadcast_id=0) is None


def test_a_broadcast_nobody_touches_for_a_minute_is_stalled():
    broadcast = broadcast_started(2)
    a_while_ago = timezone.now() - BROADCAST_STALLED_AFTER - datetime.timedelta(seconds=1)
    Broadcast.objects.filter(pk=broadcast.pk).update(started_at=a_while_ago)
    assert broadcast_progress(broadcast_id=broadcast.pk).stalled
    broadcast_recipients_claim(broadcast_id=broadcast.pk, limit=1)
    assert not broadcast_progress(broadcast_id=broadcast.pk).stalled


def test_a_broadcast_waiting_behind_another_is_waiting_not_stalled():
    first, second = broadcast_started(2), broadcast_started(2)
    a_while_ago = timezone.now() - BROADCAST_STALLED_AFTER - datetime.timedelta(seconds=1)
    Broadcast.objects.filter(pk__in=[first.pk, second.pk]).update(started_at=a_while_ago)
    Broadcast.objects.filter(pk=second.pk).update(started_at=a_while_ago + datetime.timedelta(seconds=1))

    broadcast_recipients_claim(broadcast_id=first.pk, limit=1)  # the sender is at work on the older one

    waiting = broadcast_progress(broadcast_id=second.pk)
    assert (waiting.waiting, waiting.stalled) == (True, False)
    assert broadcast_progress(broadcast_id=first.pk).waiting is False


def test_a_broadcast_waiting_behind_another_nobody_sends_is_stalled_too():
    first, second = broadcast_started(2), broadcast_started(2)
    a_while_ago = timezone.now() - BROADCAST_STALLED_AFTER - datetime.timedelta(seconds=1)
    Broadcast.objects.filter(pk__in=[first.pk, second.pk]).update(started_at=a_while_ago)

    assert broadcast_progress(broadcast_id=second.pk).stalled
    assert broadcast_progress(broadcast_id=first.pk).stalled


def test_a_finished_or_just_started_broadcast_is_never_stalled():
    broadcast = broadcast_started(1)
    assert not broadcast_progress(broadcast_id=broadcast.pk).stalled  # 0 s after the start

    a_while_ago = timezone.now() - BROADCAST_STALLED_AFTER - datetime.timedelta(minutes=5)
    Broadcast.objects.filter(pk=broadcast.pk).update(status="done", started_at=a_while_ago, finished_at=a_while_ago)
    assert not broadcast_progress(broadcast_id=broadcast.pk).stalled
