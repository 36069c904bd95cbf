"""A payment update whose handling fails is handled again, never dropped (polling and webhook)."""

import pytest
from django.db import OperationalError

from botapp.bot import create_bot
from botapp.polling import Poller
from botapp.testing import updates
from botapp.testing.helpers import post_update, running
from shop.models import Purchase
from shop.services.payments import purchase_record_payment


@pytest.fixture
def database_fails_once(monkeypatch):
    """The first attempt to record a payment meets a database error (e.g. a restart)."""
    real = purchase_record_payment
    attempts = []

    def flaky(**kwargs):
        attempts.append(kwargs["payment_id"])
        if len(attempts) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real(**kwargs)

    monkeypatch.setattr("botapp.handlers.buying.purchase_record_payment", flaky)
    return attempts


def test_failed_payment_update_asks_to_be_handled_again(send, fake_api, customer, product, database_fails_once):
    update = updates.stars_payment(customer, product, charge_id="charge-1")

    assert send(update) is False
    assert not Purchase.objects.exists()
    assert not fake_api.calls_of("sendMessage")  # no apology: it will be handled, not given up

    assert send(update) is True
    assert Purchase.objects.get().payment_id == "charge-1"
    assert "KEY-123" in fake_api.calls_of("sendMessage")[-1].params["text"]


def test_poller_fetches_a_failed_payment_again(fake_api, customer, product, database_fails_once, transactional_db):
    fake_api.push(updates.stars_payment(customer, product, charge_id="charge-1"))
    with running(Poller(create_bot(), workers=2, long_polling_timeout=1)):
        fake_api.wait_for("sendMessage", lambda c: "KEY-123" in c.params["text"], timeout=15)
    assert database_fails_once == ["charge-1", "charge-1"]
    assert Purchase.objects.count() == 1
    assert fake_api.pending_updates == 0


def test_webhook_answers_500_so_telegram_repeats_a_failed_payment(
    client, settings, fake_api, customer, product, database_fails_once
):
    settings.TELEGRAM_WEBHOOK_SECRET = "s3cret"

    def post():
        return post_update(client, updates.stars_payment(customer, product, charge_id="charge-9", update_id=777))

    assert post().status_code == 500
    assert not Purchase.objects.exists()
    assert post().status_code == 200  # Telegram's repeat
    assert Purchase.objects.get().payment_id == "charge-9"
    assert post().status_code == 200  # and a repeat of that changes nothing
    assert Purchase.objects.count() == 1
