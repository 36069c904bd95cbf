"""A broadcast sent by a real `runbot` process (its embedded task worker), also across a crash and restart."""

import collections
import signal

import pytest

from botapp.tasks import schedule_broadcast_sending
from botapp.testing.helpers import wait_until
from shop.models import Broadcast
from shop.selectors.broadcasts import broadcast_progress
from shop.services.broadcasts import broadcast_create, broadcast_start
from shop.testing.factories import UserFactory

TEXT = "<b>New course</b> out today: <i>Django for shops</i>."


def start_broadcast(customers: int) -> Broadcast:
    for i in range(customers):
        UserFactory(telegram_id=10_000 + i)
    broadcast = broadcast_create(text=TEXT)
    broadcast_start(broadcast=broadcast)
    schedule_broadcast_sending()  # as the admin's Send button does
    return broadcast


def received(api) -> collections.Counter:
    return collections.Counter(int(c.params["chat_id"]) for c in api.calls_of("sendMessage") if c.params["text"] == TEXT)


def status(broadcast: Broadcast) -> str:
    broadcast.refresh_from_db()
    return broadcast.status


@pytest.mark.django_db(transaction=True)
def test_runbot_sends_a_broadcast_once_to_each_customer(api, runbot):
    broadcast = start_broadcast(30)
    bot = runbot()

    wait_until(lambda: sum(received(api).values()) >= 30, timeout=30, what="30 messages")
    wait_until(lambda: status(broadcast) == Broadcast.Status.DONE, timeout=15, what="the broadcast to be done")

    assert received(api) == {10_000 + i: 1 for i in range(30)}
    progress = broadcast_progress(broadcast_id=broadcast.pk)
    assert (progress.sent, progress.remaining, progress.failed) == (30, 0, 0)
    times = sorted(c.at for c in api.calls_of("sendMessage"))
    assert times[-1] - times[0] >= 29 / 25 - 0.1  # Telegram's pace
    assert bot.stop(signal.SIGTERM)[0] == 0


@pytest.mark.django_db(transaction=True)
def test_a_broadcast_survives_runbot_being_killed_mid_send(api, runbot):
    customers = 120
    broadcast = start_broadcast(customers)
    first = runbot()
    wait_until(lambda: sum(received(api).values()) >= 30, timeout=30, what="the first messages")
    first.stop(signal.SIGKILL)  # no chance to finish anything
    assert sum(received(api).values()) < customers
    assert status(broadcast) == Broadcast.Status.SENDING

    second = runbot()
    wait_until(lambda: status(broadcast) == Broadcast.Status.DONE, timeout=60, what="the broadcast to be done")

    counts = received(api)
    assert max(counts.values()) == 1  # nobody got it twice
    progress = broadcast_progress(broadcast_id=broadcast.pk)
    # At most the one message on its way when the process died is unaccounted for: marked failed, never resent.
    assert progress.failed <= 1 and progress.sent + progress.failed == customers
    sent_to = set(broadcast.recipients.filter(status="sent").values_list("user__telegram_id", flat=True))
    assert sent_to <= set(counts) and len(counts) - len(sent_to) <= progress.failed
    assert second.stop(signal.SIGTERM)[0] == 0
    assert "A broadcast is being sent" in second.output()
