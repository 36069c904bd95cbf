"""Delivery bookkeeping (services): who may send a purchase's content, and what came of it."""

import datetime

import pytest
from django.utils import timezone

from shop import signals
from shop.models import Purchase
from shop.services.delivery import (
    DELIVERY_CLAIM_TIMEOUT,
    delivery_claimer,
    purchase_claim_delivery,
    purchase_delivery_pending,
    purchase_mark_delivered,
    purchase_mark_delivery_failed,
    purchase_release_delivery_claims_of,
)
from shop.services.payments import purchase_mark_refunded
from shop.testing.concurrency import run_at_once
from shop.testing.payments import paid_purchase, pay, payload_for

pytestmark = pytest.mark.django_db

THREADS = 8


def released(purchase: Purchase) -> Purchase:
    """A recorded purchase whose recorder let go of its delivery (as after a failed send)."""
    Purchase.objects.filter(pk=purchase.pk).update(delivery_claimed_at=None)
    return purchase


def test_a_freshly_recorded_payment_is_held_by_its_recorder(product, ann):
    purchase = paid_purchase(ann, product)
    assert purchase.delivery_claimed_at is not None
    assert purchase_claim_delivery(purchase_id=purchase.pk) is None  # nobody else delivers it
    assert purchase_delivery_pending(purchase_id=purchase.pk) is True


def test_claim_returns_the_purchase_once(product, ann):
    purchase = released(paid_purchase(ann, product))
    claimed = purchase_claim_delivery(purchase_id=purchase.pk)
    assert claimed.pk == purchase.pk
    assert claimed.delivery_claimed_at is not None
    assert claimed.product == product and claimed.user == ann
    assert purchase_claim_delivery(purchase_id=purchase.pk) is None
    assert purchase_claim_delivery(purchase_id=purchase.pk, again=True) is None


def test_claim_of_a_delivered_purchase_only_when_asked_again(product, ann):
    purchase = released(paid_purchase(ann, product))
    purchase_mark_delivered(purchase=purchase_claim_delivery(purchase_id=purchase.pk))
    assert purchase_claim_delivery(purchase_id=purchase.pk) is None
    assert purchase_claim_delivery(purchase_id=purchase.pk, again=True).pk == purchase.pk


def test_claim_refuses_refunded_purchases(product, ann):
    purchase = paid_purchase(ann, product)
    purchase_mark_refunded(payment_id=purchase.payment_id)
    assert purchase_claim_delivery(purchase_id=purchase.pk) is None
    assert purchase_claim_delivery(purchase_id=purchase.pk, again=True) is None


def test_claim_refuses_purchases_under_review(product, ann):
    pay(ann, payload_for(ann, product), total_amount=49)
    purchase = Purchase.objects.get()
    assert purchase.review_reason
    assert purchase_claim_delivery(purchase_id=purchase.pk) is None
    assert purchase_claim_delivery(purchase_id=purchase.pk, again=True) is None


def test_claim_of_an_unknown_purchase_is_none(db):
    assert purchase_claim_delivery(purchase_id=987654) is None


def test_a_stale_claim_can_be_taken_again(product, ann):
    purchase = released(paid_purchase(ann, product))
    assert purchase_claim_delivery(purchase_id=purchase.pk) is not None
    now = timezone.now()
    Purchase.objects.update(delivery_claimed_at=now - DELIVERY_CLAIM_TIMEOUT + datetime.timedelta(seconds=30))
    assert purchase_claim_delivery(purchase_id=purchase.pk) is None
    Purchase.objects.update(delivery_claimed_at=now - DELIVERY_CLAIM_TIMEOUT - datetime.timedelta(seconds=1))
    assert purchase_claim_delivery(purchase_id=purchase.pk).pk == purchase.pk
    assert purchase_claim_delivery(purchase_id=purchase.pk) is None


def test_mark_delivered_clears_claim_and_error(product, ann):
    purchase = released(paid_purchase(ann, product))
    purchase_mark_delivery_failed(purchase=purchase_claim_delivery(purchase_id=purchase.pk), error="429 Too Many Requests")
    purchase_mark_delivered(purchase=purchase_claim_delivery(purchase_id=purchase.pk))
    purchase.refresh_from_db()
    assert purchase.delivered_at is not None
    assert purchase.delivery_claimed_at is None
    assert purchase.delivery_error == ""


def test_a_failing_receiver_of_the_delivery_neither_undoes_the_mark_nor_fails_the_delivery(product, ann, caplog):
    """What follows a delivery (a review invitation) must not make the content go out again."""
    purchase = paid_purchase(ann, product)

    def broken(sender, **kwargs):
        raise RuntimeError("the task queue is down")

    signals.purchase_delivered.connect(broken, weak=False, dispatch_uid="test-broken")
    try:
        purchase_mark_delivered(purchase=purchase)
    finally:
        signals.purchase_delivered.disconnect(dispatch_uid="test-broken")
    assert Purchase.objects.get(pk=purchase.pk).delivered_at is not None
    assert purchase_delivery_pending(purchase_id=purchase.pk) is False
    assert "the task queue is down" in caplog.text


def test_mark_delivery_failed_keeps_the_error_and_frees_the_claim(product, ann):
    purchase = released(paid_purchase(ann, product))
    purchase_mark_delivery_failed(purchase=purchase_claim_delivery(purchase_id=purchase.pk), error="x" * 300)
    purchase.refresh_from_db()
    assert purchase.delivery_error == "x" * 255
    assert purchase.delivery_claimed_at is None
    assert purchase.delivered_at is None
    assert purchase_claim_delivery(purchase_id=purchase.pk).pk == purchase.pk


# --- claiming concurrently ---


@pytest.mark.django_db(transaction=True)
def test_many_threads_claiming_one_delivery_only_one_gets_it(product, ann):
    purchase = released(paid_purchase(ann, product))
    claims = run_at_once(lambda i: purchase_claim_delivery(purchase_id=purchase.pk), THREADS)
    assert [claim.pk for claim in claims if claim is not None] == [purchase.pk]


def test_the_claims_of_a_process_that_died_are_freed_and_no_other_claim(product, ann, bob):
    """A worker process of `runbot --processes` that died held these deliveries: they may be taken at once."""
    of_dead_process = paid_purchase(ann, product, payment_id="charge-dead")
    assert of_dead_process.delivery_claimed_by == delivery_claimer()
    Purchase.objects.filter(pk=of_dead_process.pk).update(delivery_claimed_by=delivery_claimer(pid=999_999))
    of_live_process = paid_purchase(bob, product, payment_id="charge-live")

    assert purchase_release_delivery_claims_of(claimer=delivery_claimer(pid=999_999)) == 1

    assert purchase_claim_delivery(purchase_id=of_dead_process.pk) is not None
    assert purchase_claim_delivery(purchase_id=of_live_process.pk) is None  # its live worker still has it
