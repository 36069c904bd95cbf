"""Sending broadcasts against the fake Bot API: pace, Telegram's refusals, cancel, restarts, two senders."""

import collections
import itertools
import threading
import time
import uuid
from datetime import timedelta

import pytest
import requests
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from botapp import broadcasting
from botapp.broadcasting import RateLimiter, send_broadcast_chunk, send_broadcasts
from botapp.tasks import schedule_broadcast_sending, send_broadcasts_task
from botapp.testing.helpers import Clock
from shop.models import Broadcast, BroadcastRecipient, User
from shop.services.broadcasts import (
    BROADCAST_CLAIM_TIMEOUT,
    INTERRUPTED_ERROR,
    broadcast_cancel,
    broadcast_create,
    broadcast_recipient_begin_send,
    broadcast_recipients_claim,
    broadcast_release_claims,
    broadcast_start,
)
from shop.testing.concurrency import run_at_once
from shop.testing.factories import UserFactory

TEXT = "<b>Sale!</b> Everything −20% until Sunday &amp; more."
FAST = 10_000  # messages a second: tests that are not about the pace skip the waiting


@pytest.fixture
def fast_pace():
    return RateLimiter(FAST)


def customers(count: int, *, first_id: int = 1000, **fields) -> list[User]:
    """`count` customers with Telegram ids from `first_id` on (the order a broadcast reaches them in)."""
    return [UserFactory(telegram_id=first_id + i, **fields) for i in range(count)]


def started_broadcast(text: str = TEXT, **fields) -> Broadcast:
    broadcast = broadcast_create(text=text, **fields)
    broadcast_start(broadcast=broadcast)
    broadcast.refresh_from_db()
    return broadcast


def sends_per_chat(api) -> collections.Counter:
    return collections.Counter(int(call.params["chat_id"]) for call in api.calls_of("sendMessage"))


def statuses(broadcast: Broadcast) -> dict[str, int]:
    return dict(collections.Counter(broadcast.recipients.values_list("status", flat=True)))


def send_all(bot, pace, *, rounds: int = 20) -> float | None:
    """Run chunks as the task chain would, until nothing is left (None) or it has to wait (the pause)."""
    for _ in range(rounds):
        pause = send_broadcasts(bot, pace=pace)
        if pause is None or pause > 0:
            return pause
    raise AssertionError("the broadcast did not finish")


def age_claims(broadcast: Broadcast, by: timedelta = BROADCAST_CLAIM_TIMEOUT + timedelta(seconds=1)) -> None:
    """Make every claim and send attempt older, as if that much time had passed."""
    for recipient in broadcast.recipients.exclude(claimed_at=None):
        BroadcastRecipient.objects.filter(pk=recipient.pk).update(
            claimed_at=recipient.claimed_at - by, attempted_at=recipient.attempted_at and recipient.attempted_at - by
        )


# --- The pace ---


def test_rate_limiter_spaces_calls_and_honours_a_hold():
    clock = Clock(now=100.0)
    pace = RateLimiter(25, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        pace.wait()
    assert clock.slept == [0.04, 0.04]
    clock.now += 1  # idle time is not saved up for a burst
    pace.wait()
    assert clock.slept == [0.04, 0.04]
    pace.hold(2)
    pace.wait()
    assert clock.slept[-1] == 2


@pytest.mark.django_db
def test_sixty_messages_take_at_least_two_point_three_seconds(bot, fake_api):
    customers(60)
    started_broadcast()

    started = time.monotonic()
    send_all(bot, RateLimiter(broadcasting.MESSAGES_PER_SECOND))
    elapsed = time.monotonic() - started

    calls = fake_api.calls_of("sendMessage")
    assert len(calls) == 60
    assert 59 / 25 - 0.05 <= elapsed < 10
    # never more than 25 in any second (26: the network may bunch two arrivals)
    times = [call.at for call in calls]
    assert max(sum(1 for t in times if start <= t < start + 1) for start in times) <= 26


# --- What arrives ---


@pytest.mark.django_db
def test_every_customer_gets_the_message_once_and_the_broadcast_is_done(bot, fake_api, fast_pace):
    customers(12)
    customers(3, first_id=5000, is_blocked=True)
    broadcast = started_broadcast()

    send_all(bot, fast_pace)

    assert sends_per_chat(fake_api) == {1000 + i: 1 for i in range(12)}  # blocked customers are not tried
    assert {call.params["text"] for call in fake_api.calls_of("sendMessage")} == {TEXT}
    broadcast.refresh_from_db()
    assert broadcast.status == Broadcast.Status.DONE and broadcast.finished_at is not None
    assert statuses(broadcast) == {"sent": 12, "blocked": 3}
    assert not broadcast.recipients.filter(status="sent", sent_at=None).exists()


@pytest.mark.django_db
def test_a_429_is_waited_out_and_the_same_customer_tried_again(bot, fake_api):
    customers(3)
    broadcast = started_broadcast()
    fake_api.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)

    send_all(bot, RateLimiter(FAST))

    calls = fake_api.calls_of("sendMessage")
    assert [c.params["chat_id"] for c in calls] == ["1000", "1000", "1001", "1002"]
    assert calls[1].at - calls[0].at >= 0.95
    assert statuses(broadcast) == {"sent": 3}


@pytest.mark.django_db
def test_a_long_429_pauses_the_broadcast_and_gives_the_customer_back(bot, fake_api, fast_pace):
    customers(2)
    broadcast = started_broadcast()
    fake_api.fail_next("sendMessage", 429, "Too Many Requests: retry after 60", retry_after=60)

    assert send_broadcasts(bot, pace=fast_pace) == 60
    first = broadcast.recipients.get(user__telegram_id=1000)
    assert (first.status, first.attempted_at, first.claimed_at) == ("pending", None, None)

    fast_pace.next_at = 0  # the minute has passed
    send_all(bot, fast_pace)
    assert sends_per_chat(fake_api) == {1000: 2, 1001: 1}  # the first call was refused, not delivered
    assert statuses(broadcast) == {"sent": 2}


@pytest.mark.django_db
def test_a_customer_who_blocked_the_bot_is_marked_and_skipped(bot, fake_api, fast_pace):
    customers(3)
    broadcast = started_broadcast()
    fake_api.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")

    send_all(bot, fast_pace)

    assert User.objects.get(telegram_id=1000).is_blocked is True
    assert User.objects.filter(is_blocked=True).count() == 1
    blocked = broadcast.recipients.get(user__telegram_id=1000)
    assert (blocked.status, blocked.error) == ("blocked", "403 Forbidden: bot was blocked by the user")
    assert statuses(broadcast) == {"blocked": 1, "sent": 2}
    assert sends_per_chat(fake_api) == {1000: 1, 1001: 1, 1002: 1}


@pytest.mark.django_db
def test_other_refusals_fail_with_telegrams_reason(bot, fake_api, fast_pace):
    customers(2)
    broadcast = started_broadcast()
    fake_api.fail_next("sendMessage", 400, "Bad Request: chat not found")

    send_all(bot, fast_pace)

    failed = broadcast.recipients.get(status="failed")
    assert (failed.user.telegram_id, failed.error) == (1000, "400 Bad Request: chat not found")
    assert statuses(broadcast) == {"failed": 1, "sent": 1}


@pytest.mark.django_db
def test_a_broken_connection_is_not_repeated(bot, fake_api, fast_pace, monkeypatch):
    """The request may have reached Telegram before the answer was lost: a second copy is worse than none."""
    customers(2)
    broadcast = started_broadcast()
    real_send = bot.send_message
    calls = []

    def flaky(chat_id, text, **kwargs):
        calls.append(chat_id)
        if len(calls) == 1:
            raise requests.ReadTimeout("read timed out")
        return real_send(chat_id, text, **kwargs)

    monkeypatch.setattr(bot, "send_message", flaky)
    send_all(bot, fast_pace)

    assert calls == [1000, 1001]
    failed = broadcast.recipients.get(status="failed")
    assert failed.user.telegram_id == 1000 and "may or may not have arrived" in failed.error


@pytest.mark.django_db
def test_an_unreachable_api_pauses_without_losing_anyone(bot, fake_api, fast_pace):
    customers(2)
    broadcast = started_broadcast()
    fake_api.close()  # nothing listens: the connection is refused, so nothing was sent

    assert send_broadcasts(bot, pace=fast_pace) == broadcasting.UNREACHABLE_PAUSE
    assert statuses(broadcast) == {"pending": 2}
    assert not broadcast.recipients.exclude(attempted_at=None).exists()


# --- Cancel, restarts, two senders ---


@pytest.mark.django_db
def test_cancel_stops_sending_at_once(bot, fake_api, fast_pace):
    customers(20)
    broadcast = started_broadcast()
    real_send = bot.send_message

    def staff_cancel_meanwhile(chat_id, text, **kwargs):
        result = real_send(chat_id, text, **kwargs)
        if chat_id == 1002:  # staff press Cancel while this message is on its way
            broadcast_cancel(broadcast=broadcast)
        return result

    bot.send_message = staff_cancel_meanwhile
    assert send_all(bot, fast_pace) is None

    assert sorted(sends_per_chat(fake_api)) == [1000, 1001, 1002]  # nothing after the cancel
    broadcast.refresh_from_db()
    assert broadcast.status == Broadcast.Status.CANCELLED
    assert statuses(broadcast) == {"sent": 3, "cancelled": 17}


@pytest.mark.django_db
def test_a_restarted_sender_sends_everyone_exactly_once(bot, fake_api, fast_pace):
    customers(30)
    broadcast = started_broadcast()
    # The first sender sends a chunk, claims the next batch, and dies while Telegram takes one message.
    send_broadcast_chunk(bot, broadcast, pace=fast_pace, max_seconds=0.0001)
    dying = broadcast_recipients_claim(broadcast_id=broadcast.pk, limit=broadcasting.CLAIM_BATCH)
    assert broadcast_recipient_begin_send(recipient=dying[0])
    bot.send_message(dying[0].user.telegram_id, TEXT)  # it went out; the process died before recording it
    before = sends_per_chat(fake_api)
    assert sum(before.values()) == broadcasting.CLAIM_BATCH + 1

    # A fresh sender leaves the dead one's claims alone while they may still be alive...
    assert send_all(bot, fast_pace) == broadcasting.CLAIMS_PAUSE
    broadcast.refresh_from_db()
    assert broadcast.status == Broadcast.Status.SENDING
    assert statuses(broadcast) == {"sent": 30 - broadcasting.CLAIM_BATCH, "pending": broadcasting.CLAIM_BATCH}
    # ... and takes them over once they run out; the interrupted send is never repeated.
    age_claims(broadcast)
    send_all(bot, fast_pace)

    assert sends_per_chat(fake_api) == {1000 + i: 1 for i in range(30)}
    broadcast.refresh_from_db()
    assert broadcast.status == Broadcast.Status.DONE
    assert statuses(broadcast) == {"sent": 29, "failed": 1}
    assert broadcast.recipients.get(status="failed").error == INTERRUPTED_ERROR


@pytest.mark.django_db
def test_runbot_restart_settles_the_dead_senders_claims_at_once(bot, fake_api, fast_pace):
    customers(8)
    broadcast = started_broadcast()
    dying = broadcast_recipients_claim(broadcast_id=broadcast.pk, limit=3)
    broadcast_recipient_begin_send(recipient=dying[0])

    assert broadcast_release_claims(before=timezone.now()) == 2
    send_all(bot, fast_pace)

    assert sends_per_chat(fake_api) == {1000 + i: 1 for i in range(1, 8)}
    assert statuses(broadcast) == {"sent": 7, "failed": 1}


@pytest.mark.django_db(transaction=True)
def test_two_senders_at_once_never_send_to_the_same_customer(bot, fake_api, monkeypatch):
    customers(40)
    broadcast = started_broadcast()
    pace = RateLimiter(200)  # shared, as threads of one process share it; slow enough to interleave
    # The worst case: both senders have picked the same recipients before either claims them
    # (the claim's token is made between picking and claiming).
    both_picked = threading.Barrier(2)
    first_claims = itertools.count()
    make_token = uuid.uuid4

    def token_after_both_picked():
        if next(first_claims) < 2:
            both_picked.wait(timeout=5)
        return make_token()

    monkeypatch.setattr("shop.services.broadcasts.uuid.uuid4", token_after_both_picked)

    processed = run_at_once(lambda _: send_broadcast_chunk(bot, broadcast, pace=pace, max_seconds=30).processed, 2)

    assert len(processed) == 2 and all(processed) and sum(processed) == 40  # both sent, to different customers
    assert sends_per_chat(fake_api) == {1000 + i: 1 for i in range(40)}
    assert statuses(broadcast) == {"sent": 40}


@pytest.mark.django_db
def test_broadcasts_go_out_one_at_a_time_oldest_first(bot, fake_api, fast_pace):
    customers(3)
    first = started_broadcast("first")
    second = started_broadcast("second")

    send_all(bot, fast_pace)

    assert [c.params["text"] for c in fake_api.calls_of("sendMessage")] == ["first"] * 3 + ["second"] * 3
    assert set(Broadcast.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True)) == {"done"}


# --- The background task ---


@pytest.mark.django_db
def test_the_task_sends_in_chunks_and_queues_itself_until_done(fake_api, run_due_tasks, monkeypatch):
    monkeypatch.setattr(broadcasting, "PACE", RateLimiter(FAST))
    monkeypatch.setattr(broadcasting, "CHUNK_SECONDS", 0)  # one batch per task
    customers(12)
    broadcast = started_broadcast()  # starting it queues the sender
    assert DBTaskResult.objects.filter(task_path=send_broadcasts_task.module_path, status="READY").count() == 1
    assert schedule_broadcast_sending() is False  # one chain: already queued

    ran = run_due_tasks()

    assert ran == 3  # 5 + 5 + 2 recipients
    assert sends_per_chat(fake_api) == {1000 + i: 1 for i in range(12)}
    broadcast.refresh_from_db()
    assert broadcast.status == Broadcast.Status.DONE
    results = list(DBTaskResult.objects.filter(task_path=send_broadcasts_task.module_path).values_list("return_value", flat=True))
    assert sorted(results) == ["continues", "continues", "idle"]
