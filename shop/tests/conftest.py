"""Customers the shop's tests share: Ann (Telegram id 42) and Bob (43)."""

import pytest

from shop.testing.factories import UserFactory


@pytest.fixture
def ann(db):
    return UserFactory(telegram_id=42, username="ann", first_name="Ann")


@pytest.fixture
def bob(db):
    return UserFactory(telegram_id=43, username="bob", first_name="Bob")
