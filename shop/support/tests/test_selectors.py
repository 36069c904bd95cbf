"""Support's reads: which conversation a staff member's reply belongs to, what staff see of the customer."""

import datetime

import pytest

from shop.support.selectors import (
    support_message_for_staff_message,
    support_recent_purchases,
    support_staff_languages,
)
from shop.support.services import support_copies_record, support_message_from_customer
from shop.testing.factories import PurchaseFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_staff_message_maps_back_to_the_customers_message_in_that_staff_chat_only():
    question = support_message_from_customer(customer=UserFactory(), kind="text", text="?", chat_message_id=1)
    support_copies_record(message=question, copies=[(777, 5001), (888, 5002)], reached=True)

    assert support_message_for_staff_message(staff_chat_id=777, staff_message_id=5001) == question
    assert support_message_for_staff_message(staff_chat_id=888, staff_message_id=5002) == question
    assert support_message_for_staff_message(staff_chat_id=888, staff_message_id=5001) is None
    assert support_message_for_staff_message(staff_chat_id=42, staff_message_id=5001) is None


def test_recent_purchases_are_the_latest_five_refunded_ones_too():
    ann = UserFactory()
    now = datetime.datetime(2026, 12, 2, tzinfo=datetime.UTC)
    bought = [PurchaseFactory(user=ann, created_at=now - datetime.timedelta(days=n)) for n in range(6)]
    refunded = PurchaseFactory(user=ann, refunded=True, created_at=now + datetime.timedelta(days=1))
    PurchaseFactory()  # someone else's

    assert support_recent_purchases(customer=ann) == [refunded, *bought[:4]]


def test_staff_languages_are_those_telegram_gave_them():
    UserFactory(telegram_id=777, language_code="ru")

    assert support_staff_languages(telegram_ids=[777, 888]) == {777: "ru"}
