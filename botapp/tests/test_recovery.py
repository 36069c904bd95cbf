"""Recovery (botapp/recovery.py, `manage.py recover`): what a dead process left half done is finished,
once, by runbot at start and by the periodic sweep a webhook deployment runs too."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from botapp.recovery import recover, recover_task
from botapp.tasks import deliver_purchase_task, schedule_delivery
from shop.models import BroadcastRecipient, Purchase
from shop.services.delivery import DELIVERY_CLAIM_TIMEOUT
from shop.testing.factories import PurchaseFactory, UserFactory, broadcast_started

pytestmark = pytest.mark.django_db


def delivery_tasks() -> list[int]:
    """The purchases with a delivery task waiting."""
    waiting = DBTaskResult.objects.filter(task_path=deliver_purchase_task.module_path, status="READY")
    return sorted(args["args"][0] for args in waiting.values_list("args_kwargs", flat=True))


def untouched_for(minutes: float, purchase: Purchase) -> Purchase:
    """Nobody wrote to the purchase for `minutes` (its worker is not about to queue its retry)."""
    Purchase.objects.filter(pk=purchase.pk).update(updated_at=timezone.now() - timedelta(minutes=minutes))
    return purchase


def claimed(minutes_ago: float, **fields) -> Purchase:
    """A paid purchase whose delivery a worker took `minutes_ago` and never finished."""
    since = timezone.now() - timedelta(minutes=minutes_ago)
    return untouched_for(minutes_ago, PurchaseFactory(user=UserFactory(telegram_id=42), delivery_claimed_at=since, **fields))


def test_the_sweep_leaves_a_delivery_that_just_failed_to_the_worker_queuing_its_retry():
    just_failed = PurchaseFactory(delivery_error="502 Bad Gateway")  # its worker is queuing the retry right now

    assert recover().deliveries_queued == 0
    assert delivery_tasks() == []

    untouched_for(2, just_failed)  # ...and if it never did, the next sweep does
    assert recover().deliveries_queued == 1


def test_at_start_every_claim_of_the_dead_process_is_released_and_its_content_delivered_once(fake_api, run_due_tasks):
    purchase = claimed(minutes_ago=1)  # the process died a minute ago, mid-delivery

    recovery = recover(dead_before=timezone.now())

    assert (recovery.deliveries_released, recovery.deliveries_queued) == (1, 1)
    assert delivery_tasks() == [purchase.pk]
    assert run_due_tasks() == 1
    purchase.refresh_from_db()
    assert purchase.delivered_at is not None and purchase.delivery_claimed_at is None
    assert [c.params["chat_id"] for c in fake_api.calls_of("sendMessage") if "KEY" in c.params["text"]] == ["42"]


def test_the_sweep_leaves_a_delivery_in_progress_alone_and_takes_over_one_whose_claim_ran_out():
    in_progress = claimed(minutes_ago=1)
    abandoned = claimed(minutes_ago=DELIVERY_CLAIM_TIMEOUT.total_seconds() / 60 + 1)

    recovery = recover()

    assert recovery.deliveries_released == 1
    assert delivery_tasks() == [abandoned.pk]
    in_progress.refresh_from_db()
    assert in_progress.delivery_claimed_at is not None


def test_the_sweep_never_queues_a_delivery_twice_and_keeps_a_backoff():
    waiting = untouched_for(10, PurchaseFactory())  # Telegram was down: its retry waits an hour
    schedule_delivery(waiting.pk, attempt=5, delay=timedelta(hours=1))
    forgotten = untouched_for(10, PurchaseFactory())  # recorded, but its task was lost

    recover()
    recover()

    assert delivery_tasks() == sorted([waiting.pk, forgotten.pk])
    retry = DBTaskResult.objects.get(args_kwargs__args=[waiting.pk])
    assert retry.run_after > timezone.now() + timedelta(minutes=50)


def test_at_start_a_delivery_waiting_out_a_backoff_goes_at_once():
    waiting = PurchaseFactory()
    schedule_delivery(waiting.pk, attempt=5, delay=timedelta(hours=1))

    recover(dead_before=timezone.now())

    [task] = DBTaskResult.objects.filter(args_kwargs__args=[waiting.pk])  # moved, not doubled
    assert task.run_after <= timezone.now()
    assert task.args_kwargs["kwargs"]["attempt"] == 5  # it keeps its count of attempts


def test_nothing_is_queued_for_what_gives_no_access_or_cannot_be_reached():
    PurchaseFactory(status=Purchase.Status.REFUNDED, refunded_at=timezone.now())
    PurchaseFactory(review_reason="paid in USD, invoice was in XTR")
    PurchaseFactory(delivered_at=timezone.now())
    PurchaseFactory(user=UserFactory(is_blocked=True))
    PurchaseFactory(delivery_error="400 Bad Request: wrong file identifier")  # waits for staff

    assert recover(dead_before=timezone.now()).deliveries_queued == 0
    assert delivery_tasks() == []


def test_broadcast_sends_of_a_dead_sender_are_settled_and_the_sender_queued_again():
    broadcast = broadcast_started(customers=3)
    DBTaskResult.objects.all().delete()  # the sender's task died with its process
    long_ago = timezone.now() - timedelta(minutes=10)
    first, second, third = broadcast.recipients.order_by("id")
    BroadcastRecipient.objects.filter(pk=first.pk).update(claimed_at=long_ago, claim_token="dead")
    BroadcastRecipient.objects.filter(pk=second.pk).update(claimed_at=long_ago, claim_token="dead", attempted_at=long_ago)

    recovery = recover()

    statuses = dict(broadcast.recipients.values_list("pk", "status"))
    assert statuses == {first.pk: "pending", second.pk: "failed", third.pk: "pending"}  # never sent twice
    assert recovery.broadcast_sends_released == 1 and recovery.broadcast_resumed
    assert DBTaskResult.objects.filter(task_path="botapp.tasks.send_broadcasts_task", status="READY").count() == 1


def test_the_command_recovers_and_keeps_one_periodic_sweep_queued():
    abandoned = claimed(minutes_ago=60)
    out = StringIO()

    call_command("recover", stdout=out)
    call_command("recover", stdout=StringIO())

    assert "Queued 1 undelivered purchase(s); released 1 delivery claim(s)" in out.getvalue()
    assert delivery_tasks() == [abandoned.pk]
    sweeps = DBTaskResult.objects.filter(task_path=recover_task.module_path, status="READY")
    assert sweeps.count() == 1
    assert sweeps.get().run_after > timezone.now()


def test_the_periodic_sweep_delivers_what_was_abandoned_and_queues_its_next_run(fake_api, run_due_tasks):
    abandoned = claimed(minutes_ago=60)
    recover_task.enqueue()

    assert run_due_tasks() == 2  # the sweep, then the delivery it queued; the next sweep is not due yet

    abandoned.refresh_from_db()
    assert abandoned.delivered_at is not None
    later = DBTaskResult.objects.filter(task_path=recover_task.module_path, status="READY").get()
    assert later.run_after > timezone.now() + timedelta(minutes=4)
