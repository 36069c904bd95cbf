"""The bot waits for at most one message of a customer at a time (botapp.waits): starting a wait ends the
others, so a message goes where the customer expects it."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from botapp import callbacks
from botapp.testing import updates
from botapp.testing.helpers import body, sent_to
from shop.promotions.services import promo_wait_pending
from shop.reviews.models import Review
from shop.support.models import SupportMessage
from shop.testing.factories import ProductFactory, PurchaseFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def stars(settings):
    settings.SHOP_CURRENCY = "XTR"
    settings.ADMIN_IDS = [777]


@pytest.fixture
def owned(db):
    ann = UserFactory(telegram_id=42, first_name="Ann")
    product = ProductFactory(name="Editor Pro", price=50)
    PurchaseFactory(user=ann, product=product, price=50)
    return product


@pytest.fixture
def other(db):
    return ProductFactory(name="Course", price=200)


def test_a_review_written_after_an_unanswered_promo_prompt_is_saved_as_the_review(send, press, customer, owned, other):
    press(callbacks.promo(other.pk))  # «Have a promo code?»... and she changes her mind without Cancel
    press(callbacks.rate_set(owned.pk, 5))  # rates what she owns: the next message is the review's text

    send(updates.message(customer, "Great editor, recommend"))

    assert Review.objects.get(product=owned).text == "Great editor, recommend"
    assert not promo_wait_pending(telegram_id=42)


def test_a_promo_code_asked_for_after_rating_is_taken_as_the_code_not_as_the_review(
    send, press, customer, fake_api, owned, other
):
    press(callbacks.rate_set(owned.pk, 4))
    press(callbacks.promo(other.pk))

    mark = fake_api.mark()
    send(updates.message(customer, "NOSUCHCODE"))
    replies = sent_to(fake_api, customer["id"], after=mark)

    assert Review.objects.get(product=owned).text == ""  # the review keeps no text
    assert any("there is no such promo code" in body(call) for call in replies)  # read as a code


def test_writing_to_support_ends_the_promo_and_review_waits(send, press, customer, fake_api, owned, other):
    press(callbacks.promo(other.pk))
    press(callbacks.rate_set(owned.pk, 3))
    press(callbacks.support())

    send(updates.message(customer, "My key does not work"))

    assert Review.objects.get(product=owned).text == ""
    assert not promo_wait_pending(telegram_id=42)
    assert SupportMessage.objects.filter(text__contains="My key does not work").exists()


def test_with_no_wait_open_commands_and_presses_end_waits_without_a_query(send, press, customer, owned):
    send(updates.message(customer, "/start"))  # the customer's record exists
    with CaptureQueriesContext(connection) as command:
        send(updates.message(customer, "/help"))
    with CaptureQueriesContext(connection) as pressed:
        press(callbacks.catalog())
    looked = [q["sql"] for q in [*command, *pressed] if "wait" in q["sql"]]
    assert looked == []
