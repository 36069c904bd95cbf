"""The shop announces (shop/signals.py), the bot queues the work (botapp/receivers.py); and the one
follow-up policy for a delivery attempt (botapp/tasks.delivery_follow_up)."""

import pytest
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from botapp.delivery import Delivery
from botapp.tasks import MAX_DELIVERY_ATTEMPTS, deliver_purchase_task, delivery_follow_up, send_broadcasts_task
from botapp.telegram.client import api_client
from shop.models import Purchase
from shop.services.broadcasts import broadcast_create, broadcast_start
from shop.services.delivery import purchase_request_delivery
from shop.services.payments import purchase_grant
from shop.testing.factories import ProductFactory, PurchaseFactory, UserFactory

pytestmark = pytest.mark.django_db


def queued(task) -> list[dict]:
    return list(DBTaskResult.objects.filter(task_path=task.module_path, status="READY").values_list("args_kwargs", flat=True))


def test_a_grant_queues_its_delivery_in_the_same_transaction():
    customer, product = UserFactory(), ProductFactory()

    purchase, _ = purchase_grant(user=customer, product=product)

    assert queued(deliver_purchase_task) == [{"args": [purchase.pk], "kwargs": {"attempt": 1, "again": False}}]


def test_a_grant_rolled_back_leaves_no_delivery_behind():
    customer, product = UserFactory(), ProductFactory()

    with pytest.raises(RuntimeError), transaction.atomic():
        purchase_grant(user=customer, product=product)
        raise RuntimeError("the request failed after the grant")

    assert Purchase.objects.count() == 0
    assert queued(deliver_purchase_task) == []


def test_staff_asking_for_delivery_approves_a_reviewed_payment_and_resends_a_delivered_one():
    reviewed = PurchaseFactory(review_reason="paid in USD, invoice was in XTR")
    delivered = PurchaseFactory(delivered_at=timezone.now())
    refunded = PurchaseFactory(status=Purchase.Status.REFUNDED, refunded_at=timezone.now())

    assert [purchase_request_delivery(purchase=p) for p in (reviewed, delivered, refunded)] == [True, True, False]

    reviewed.refresh_from_db()
    assert reviewed.review_reason == ""
    assert sorted((a["args"][0], a["kwargs"]["again"]) for a in queued(deliver_purchase_task)) == [
        (reviewed.pk, False),
        (delivered.pk, True),
    ]


def test_starting_a_broadcast_queues_one_sender():
    UserFactory.create_batch(2)
    broadcast = broadcast_create(text="Hi")

    broadcast_start(broadcast=broadcast)

    assert len(queued(send_broadcasts_task)) == 1


def test_busy_looks_again_after_the_claim_and_retry_backs_off_and_tells_a_waiting_buyer(fake_api):
    purchase = PurchaseFactory(user=UserFactory(telegram_id=42))

    delivery_follow_up(api_client(), purchase, Delivery.BUSY, attempt=3)
    delivery_follow_up(api_client(), purchase, Delivery.RETRY, attempt=3, buyer_waiting=True)

    tasks = DBTaskResult.objects.filter(task_path=deliver_purchase_task.module_path).order_by("enqueued_at")
    assert [t.args_kwargs["kwargs"]["attempt"] for t in tasks] == [3, 4]
    assert all(t.run_after > timezone.now() for t in tasks)
    assert [c.params["chat_id"] for c in fake_api.calls_of("sendMessage")] == ["42"]  # "your purchase is on its way"


def test_after_the_last_attempt_staff_are_told_once_and_nothing_more_is_queued(fake_api, settings):
    settings.ADMIN_IDS = [777]
    purchase = PurchaseFactory(user=UserFactory(telegram_id=42), delivery_error="502 Bad Gateway")

    delivery_follow_up(api_client(), purchase, Delivery.RETRY, attempt=MAX_DELIVERY_ATTEMPTS)

    assert queued(deliver_purchase_task) == []
    [alert] = fake_api.calls_of("sendMessage")
    assert alert.params["chat_id"] == "777" and "502 Bad Gateway" in alert.params["text"]


@pytest.mark.parametrize("result", [Delivery.DELIVERED, Delivery.SKIPPED, Delivery.BLOCKED, Delivery.FAILED])
def test_other_outcomes_need_no_follow_up(result, fake_api):
    delivery_follow_up(api_client(), PurchaseFactory(), result, buyer_waiting=True)

    assert queued(deliver_purchase_task) == []
    assert fake_api.calls == []
