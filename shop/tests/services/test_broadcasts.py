"""Broadcasts (services): recipients, claims, cancel."""

import datetime
import threading
import time

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from shop.models import Broadcast, BroadcastRecipient, User
from shop.selectors.broadcasts import AudienceSize, broadcast_audience_size
from shop.services import broadcasts
from shop.services.broadcasts import (
    BROADCAST_CLAIM_TIMEOUT,
    INTERRUPTED_ERROR,
    broadcast_cancel,
    broadcast_create,
    broadcast_finish_if_complete,
    broadcast_recipient_begin_send,
    broadcast_recipient_mark_sent,
    broadcast_recipients_claim,
    broadcast_start,
)
from shop.testing.concurrency import run_at_once
from shop.testing.factories import ProductFactory, PurchaseFactory, UserFactory, broadcast_started

pytestmark = pytest.mark.django_db


def recipients(broadcast: Broadcast) -> dict[int, str]:
    return dict(broadcast.recipients.values_list("user__telegram_id", "status"))


# --- Who receives it ---


def test_all_customers_blocked_ones_recorded_as_blocked_without_sending():
    ann, bob = UserFactory(), UserFactory()
    gone = UserFactory(is_blocked=True)
    broadcast = broadcast_create(text="Hello")

    assert broadcast_audience_size(broadcast=broadcast) == AudienceSize(total=3, blocked=1)
    assert broadcast_start(broadcast=broadcast) == 2

    assert broadcast.status == Broadcast.Status.SENDING and broadcast.started_at is not None
    assert recipients(broadcast) == {ann.telegram_id: "pending", bob.telegram_id: "pending", gone.telegram_id: "blocked"}


def test_buyers_of_a_product_paid_and_not_refunded_once_each():
    product, other = ProductFactory(), ProductFactory(name="Other")
    payer, twice, refunded, elsewhere = UserFactory(), UserFactory(), UserFactory(), UserFactory()
    UserFactory()  # bought nothing
    PurchaseFactory(user=payer, product=product)
    PurchaseFactory(user=twice, product=product)
    PurchaseFactory(user=twice, product=product, refunded=True)
    PurchaseFactory(user=refunded, product=product, refunded=True)
    PurchaseFactory(user=elsewhere, product=other)
    broadcast = broadcast_create(text="Update for owners", audience="buyers", product=product)

    broadcast_start(broadcast=broadcast)

    assert recipients(broadcast) == {payer.telegram_id: "pending", twice.telegram_id: "pending"}


def test_selected_customers_only():
    chosen = [UserFactory(), UserFactory()]
    UserFactory()
    broadcast = broadcast_create(text="Hi", audience="selected", selected_users=chosen)

    broadcast_start(broadcast=broadcast)

    assert set(recipients(broadcast)) == {u.telegram_id for u in chosen}


def test_a_broadcast_starts_once_and_never_to_nobody():
    broadcast = broadcast_create(text="Hi", audience="selected", selected_users=[])
    with pytest.raises(ValidationError, match="Nobody would receive"):
        broadcast_start(broadcast=broadcast)
    broadcast.refresh_from_db()
    assert broadcast.status == Broadcast.Status.DRAFT and not broadcast.recipients.exists()

    broadcast.selected_users.set([UserFactory()])
    broadcast_start(broadcast=broadcast)
    with pytest.raises(ValidationError, match="already been sent"):
        broadcast_start(broadcast=broadcast)
    assert broadcast.recipients.count() == 1


@pytest.mark.parametrize(
    ("fields", "error_field"),
    [
        ({"text": "<b>unclosed"}, "text"),
        ({"text": "<div>no</div>"}, "text"),
        ({"text": "x" * 4097}, "text"),
        ({"text": "<b> </b>"}, "text"),
        ({"text": "Hi", "audience": "buyers"}, "product"),
    ],
)
def test_what_telegram_would_refuse_is_refused(fields, error_field):
    with pytest.raises(ValidationError) as exc:
        broadcast_create(**fields)
    assert error_field in exc.value.message_dict


def test_one_message_long_is_fine():
    assert broadcast_create(text="<b>" + "x" * 4096 + "</b>").pk


def test_rows_left_by_a_start_that_died_are_replaced_by_the_audience_of_today():
    ann, bob, carol = UserFactory(), UserFactory(), UserFactory()
    broadcast = broadcast_create(text="Hi", audience="selected", selected_users=[ann, bob])
    # A start died half way when carol was chosen too and bob had blocked the bot; staff changed the choice since.
    BroadcastRecipient.objects.create(broadcast=broadcast, user=carol)
    BroadcastRecipient.objects.create(broadcast=broadcast, user=bob, status="blocked")

    assert broadcast_start(broadcast=broadcast) == 2

    assert recipients(broadcast) == {ann.telegram_id: "pending", bob.telegram_id: "pending"}


# --- Starting a big broadcast: the bot keeps writing, nobody is lost or doubled ---


def customers_in_bulk(count: int) -> None:
    User.objects.bulk_create([User(telegram_id=10**9 + i, username=f"c{i}") for i in range(count)], batch_size=5000)


def start_in_the_background(broadcast_id: int) -> tuple[threading.Thread, list]:
    """broadcast_start on a thread of its own (its own connection); the list gets its count or its refusal."""
    outcome = []

    def start():
        try:
            outcome.append(broadcast_start(broadcast=Broadcast.objects.get(pk=broadcast_id)))
        except ValidationError as exc:
            outcome.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=start)
    thread.start()
    return thread, outcome


@pytest.mark.django_db(transaction=True)
def test_while_a_big_broadcast_starts_the_bots_writes_go_through_within_a_second():
    customers_in_bulk(30_000)
    regular = UserFactory(username="regular")
    broadcast = broadcast_create(text="Sale!")
    waits, seen = [], []

    thread, outcome = start_in_the_background(broadcast.pk)
    while thread.is_alive():
        began = time.monotonic()
        User.objects.filter(pk=regular.pk).update(first_name=f"update {len(waits)}")  # the bot's user sync
        UserFactory()  # a new customer's /start
        waits.append(time.monotonic() - began)
        seen.append(Broadcast.objects.filter(pk=broadcast.pk).annotate(rows=Count("recipients")).values_list("status", "rows")[0])
        time.sleep(0.05)
    thread.join()

    (audience,) = outcome  # everyone who had started the bot when the broadcast started
    assert audience >= 30_001
    assert broadcast.recipients.count() == audience
    assert max(waits) < 1.0, f"the bot waited {max(waits):.1f} s for the database"
    assert len(waits) >= 10, "the start was over before the bot wrote anything: nothing was tested"
    # Sending only once every row exists: a sender never finds a started broadcast with customers missing.
    assert {rows for status, rows in seen if status == "sending"} <= {audience}
    assert any(status == "draft" and 0 < rows < audience for status, rows in seen)  # seen half way, as a draft


@pytest.mark.django_db(transaction=True)
def test_a_draft_edited_while_it_starts_is_not_sent_until_started_again(monkeypatch):
    monkeypatch.setattr(broadcasts, "RECIPIENTS_PER_TRANSACTION", 100)
    customers_in_bulk(3_000)
    broadcast = broadcast_create(text="Hi")

    thread, outcome = start_in_the_background(broadcast.pk)
    while not broadcast.recipients.exists():
        time.sleep(0.01)
    edited = Broadcast.objects.get(pk=broadcast.pk)
    edited.audience, edited.product = "buyers", ProductFactory()
    PurchaseFactory(product=edited.product)
    edited.save()  # as the admin saves the draft
    thread.join()

    assert isinstance(outcome[0], ValidationError) and "changed" in outcome[0].messages[0]
    broadcast.refresh_from_db()
    assert broadcast.status == Broadcast.Status.DRAFT
    assert broadcast_start(broadcast=broadcast) == 1
    assert broadcast.recipients.count() == 1  # the buyer: nobody from the audience it had before


@pytest.mark.django_db(transaction=True)
def test_send_clicked_twice_starts_once_to_everyone_once(monkeypatch):
    monkeypatch.setattr(broadcasts, "RECIPIENTS_PER_TRANSACTION", 100)
    customers_in_bulk(1_000)
    broadcast = broadcast_create(text="Hi")

    outcomes = run_at_once(lambda i: _start_or_refusal(broadcast.pk), 2)

    assert sorted(outcomes, key=str) == [1_000, "refused"]
    broadcast.refresh_from_db()
    assert broadcast.status == Broadcast.Status.SENDING
    assert broadcast.recipients.count() == broadcast.recipients.values("user").distinct().count() == 1_000


def _start_or_refusal(broadcast_id: int) -> int | str:
    try:
        return broadcast_start(broadcast=Broadcast.objects.get(pk=broadcast_id))
    except ValidationError:
        return "refused"


# --- Claims: each customer to one sender ---


def test_claims_never_overlap_and_expire_only_if_nothing_was_tried():
    broadcast = broadcast_started(6)
    first = broadcast_recipients_claim(broadcast_id=broadcast.pk, limit=4)
    second = broadcast_recipients_claim(broadcast_id=broadcast.pk, limit=4)
    assert len(first) == 4 and len(second) == 2
    assert not {r.pk for r in first} & {r.pk for r in second}
    assert broadcast_recipients_claim(broadcast_id=broadcast.pk, limit=4) == []

    assert broadcast_recipient_begin_send(recipient=first[0])
    assert not broadcast_recipient_begin_send(recipient=first[0])  # once
    past = timezone.now() - BROADCAST_CLAIM_TIMEOUT - datetime.timedelta(seconds=1)
    broadcast.recipients.filter(pk__in=[r.pk for r in first]).update(claimed_at=past)
    broadcast.recipients.filter(pk=first[0].pk).update(attempted_at=past)

    retaken = broadcast_recipients_claim(broadcast_id=broadcast.pk, limit=10)
    assert {r.pk for r in retaken} == {r.pk for r in first[1:]}  # the one tried is not sent again
    assert not broadcast_recipient_begin_send(recipient=first[1])  # the old claim lost it
    assert not broadcast_finish_if_complete(broadcast_id=broadcast.pk)
    for recipient in [*second, *retaken]:
        broadcast_recipient_begin_send(recipient=recipient)
        broadcast_recipient_mark_sent(recipient=recipient)

    assert broadcast_finish_if_complete(broadcast_id=broadcast.pk)
    broadcast.refresh_from_db()
    assert broadcast.status == Broadcast.Status.DONE
    interrupted = broadcast.recipients.get(pk=first[0].pk)
    assert (interrupted.status, interrupted.error) == ("failed", INTERRUPTED_ERROR)


def test_cancel_stops_claims_and_leaves_a_send_on_its_way_alone():
    broadcast = broadcast_started(5)
    on_its_way, claimed = broadcast_recipients_claim(broadcast_id=broadcast.pk, limit=2)
    broadcast_recipient_begin_send(recipient=on_its_way)

    assert broadcast_cancel(broadcast=broadcast) == 4
    assert broadcast.status == Broadcast.Status.CANCELLED and broadcast.finished_at is not None
    assert broadcast_recipients_claim(broadcast_id=broadcast.pk, limit=5) == []
    assert not broadcast_recipient_begin_send(recipient=claimed)
    assert broadcast_recipient_mark_sent(recipient=on_its_way)  # Telegram took it meanwhile
    assert sorted(recipients(broadcast).values()) == ["cancelled"] * 4 + ["sent"]
    with pytest.raises(ValidationError):
        broadcast_cancel(broadcast=broadcast)
