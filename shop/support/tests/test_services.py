"""Support's writes: the wait for a customer's message (and its album), the messages both ways."""

import datetime

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from shop.support.models import SupportCopy, SupportMessage, SupportWait
from shop.support.selectors import support_wait_accepts
from shop.support.services import (
    ALBUM_WAIT,
    support_answer_record,
    support_copies_record,
    support_message_from_customer,
    support_wait_cancel,
    support_wait_start,
    support_wait_use,
)
from shop.testing.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_wait_takes_the_next_message_only():
    support_wait_start(telegram_id=42)

    assert support_wait_accepts(telegram_id=42)
    assert support_wait_use(telegram_id=42) is True
    assert not support_wait_accepts(telegram_id=42)
    assert not support_wait_accepts(telegram_id=43)  # nobody else's


def test_a_wait_lasts_ten_minutes():
    support_wait_start(telegram_id=42)
    wait = SupportWait.objects.get()

    assert abs(wait.expires_at - (timezone.now() + datetime.timedelta(minutes=10))) < datetime.timedelta(seconds=5)
    SupportWait.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert not support_wait_accepts(telegram_id=42)


def test_pressing_again_starts_the_wait_again_without_a_second_row():
    support_wait_start(telegram_id=42)
    SupportWait.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1), media_group_id="old")

    support_wait_start(telegram_id=42)

    assert SupportWait.objects.count() == 1
    assert support_wait_accepts(telegram_id=42)


def test_cancel_ends_the_wait():
    support_wait_start(telegram_id=42)

    assert support_wait_cancel(telegram_id=42) is True
    assert support_wait_cancel(telegram_id=42) is False
    assert not support_wait_accepts(telegram_id=42)


def test_an_albums_parts_are_all_taken_and_nothing_else():
    support_wait_start(telegram_id=42)

    assert support_wait_use(telegram_id=42, media_group_id="album-1") is True
    assert support_wait_accepts(telegram_id=42, media_group_id="album-1")
    assert support_wait_use(telegram_id=42, media_group_id="album-1") is False  # not the first: no second header
    assert not support_wait_accepts(telegram_id=42)  # a plain message after the album
    assert not support_wait_accepts(telegram_id=42, media_group_id="album-2")
    wait = SupportWait.objects.get()
    assert wait.expires_at <= timezone.now() + ALBUM_WAIT


def test_messages_from_telegram_are_made_storable():
    message = support_message_from_customer(
        customer=UserFactory(), kind="text", text="nul\x00 and \ud800 lone", chat_message_id=1
    )

    message.refresh_from_db()
    assert message.text == "nul\ufffd and ? lone"
    assert message.direction == SupportMessage.Direction.FROM_CUSTOMER


def test_a_message_that_reached_no_staff_member_is_marked_so():
    reached = support_message_from_customer(customer=UserFactory(), kind="text", text="a", chat_message_id=1)
    lost = support_message_from_customer(customer=UserFactory(), kind="text", text="b", chat_message_id=2)

    support_copies_record(message=reached, copies=[(777, 10), (777, 11), (888, 10)], reached=True)
    support_copies_record(message=lost, copies=[(777, 12)], reached=False)  # a header, but not the message

    reached.refresh_from_db(), lost.refresh_from_db()
    assert (reached.delivered, lost.delivered) == (True, False)
    assert lost.error == "no staff member could be reached"
    assert SupportCopy.objects.filter(message=reached).count() == 3


def test_an_answer_belongs_to_the_customer_of_the_question_and_names_its_staff_member():
    question = support_message_from_customer(customer=UserFactory(), kind="text", text="?", chat_message_id=1)

    answer = support_answer_record(
        answer_to=question, staff_telegram_id=777, kind="text", text="!", chat_message_id=5, error="403 Forbidden"
    )

    assert (answer.customer, answer.direction, answer.staff_telegram_id) == (question.customer, "out", 777)
    assert (answer.delivered, answer.error) == (False, "403 Forbidden")


@pytest.mark.parametrize(("direction", "staff"), [("out", None), ("in", 777)])
def test_the_database_keeps_answers_and_staff_members_together(direction, staff):
    with pytest.raises(IntegrityError), transaction.atomic():
        SupportMessage.objects.create(
            customer=UserFactory(), direction=direction, staff_telegram_id=staff, kind="text", chat_message_id=1
        )
