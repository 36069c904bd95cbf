"""People and data the back office's tests share: Ann, who bought the product (the root conftest's
Editor Pro); Bob; staff who may only look; the admin in Russian."""

import pytest
from django.utils import translation

from backoffice.testing import staff_client
from shop.testing.factories import PurchaseFactory, UserFactory


@pytest.fixture
def buyer(db):
    return UserFactory(telegram_id=42, username="ann", first_name="Ann", last_name="Lee", language_code="en")


@pytest.fixture
def bob(db):
    return UserFactory(telegram_id=1042, username="bob")


@pytest.fixture
def purchase(buyer, product):
    return PurchaseFactory(user=buyer, product=product, payment_id="stars-charge-abc")


@pytest.fixture
def viewer_client(db):
    """A staff member who may look at purchases and customers, not act on them."""
    return staff_client("viewer", "view_purchase", "view_user")


@pytest.fixture
def russian(admin_client):
    yield admin_client
    translation.activate("en")  # LocaleMiddleware leaves the last request's language active
