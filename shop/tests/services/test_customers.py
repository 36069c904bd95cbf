"""Customers as Telegram shows them (services): created on first contact, kept up to date."""

import datetime

import pytest
from django.utils import timezone

from shop.models import User
from shop.services.customers import user_sync_from_telegram

pytestmark = pytest.mark.django_db

LONG_AGO = timezone.now() - datetime.timedelta(days=30)


def sync(**overrides):
    data = {"telegram_id": 42, "username": "ann", "first_name": "Ann", "last_name": "Lee", "language_code": "en"}
    return user_sync_from_telegram(**{**data, **overrides})


def test_sync_creates_customer_on_first_contact():
    user = sync()
    assert User.objects.count() == 1
    user.refresh_from_db()
    assert (user.telegram_id, user.username, user.first_name, user.last_name, user.language_code) == (
        42,
        "ann",
        "Ann",
        "Lee",
        "en",
    )
    assert user.is_blocked is False


@pytest.mark.parametrize(
    ("field", "value"),
    [("username", "ann_new"), ("first_name", "Anna"), ("last_name", "Smith"), ("language_code", "ru")],
)
def test_sync_brings_changed_profile_up_to_date(field, value):
    sync()
    User.objects.update(updated_at=LONG_AGO)
    user = sync(**{field: value})
    assert User.objects.count() == 1
    user.refresh_from_db()
    assert getattr(user, field) == value
    assert user.updated_at > LONG_AGO


def test_sync_unblocks_a_user_who_writes_again():
    sync()
    User.objects.update(is_blocked=True)
    user = sync()
    user.refresh_from_db()
    assert user.is_blocked is False


def test_sync_without_changes_writes_nothing(django_assert_num_queries):
    sync()
    User.objects.update(updated_at=LONG_AGO)
    # One SELECT, no UPDATE.
    with django_assert_num_queries(1) as captured:
        sync()
    assert not any(q["sql"].lstrip().upper().startswith(("UPDATE", "INSERT")) for q in captured.captured_queries)
    assert User.objects.get(telegram_id=42).updated_at == LONG_AGO


def test_sync_cuts_over_long_values_to_fit_columns():
    user = sync(username="u" * 100, first_name="F" * 300, last_name="L" * 300, language_code="x" * 50)
    user.refresh_from_db()
    assert user.username == "u" * 64
    assert user.first_name == "F" * 255
    assert user.last_name == "L" * 255
    assert user.language_code == "x" * 35


def test_sync_of_over_long_values_is_stable_on_repeat(django_assert_num_queries):
    # Telegram sends the long name again with every update: the cut value must count as unchanged.
    sync(first_name="F" * 300)
    with django_assert_num_queries(1):
        sync(first_name="F" * 300)


def test_sync_stores_missing_values_as_empty_strings():
    user = sync(username=None, first_name=None, last_name=None, language_code=None)
    user.refresh_from_db()
    assert (user.username, user.first_name, user.last_name, user.language_code) == ("", "", "", "")


def test_sync_clears_username_the_user_removed():
    sync()
    user = sync(username=None)
    user.refresh_from_db()
    assert user.username == ""
    assert str(user) == "Ann Lee"


def test_sync_keeps_customers_apart():
    sync(telegram_id=1, first_name="One")
    sync(telegram_id=2, first_name="Two")
    assert dict(User.objects.values_list("telegram_id", "first_name")) == {1: "One", 2: "Two"}
