"""A payment update whose handling fails is handled again, never dropped (polling and webhook)."""

import threading

import pytest
from django.db import OperationalError
from telebot.types import Update

from botapp.bot import create_bot
from botapp.dispatch import process_update
from botapp.polling import Poller
from botapp.testing import updates
from shop.invoices import InvoiceTerms, invoice_payload
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


def payment(customer, product, charge_id="charge-1"):
    payload = invoice_payload(InvoiceTerms(customer["id"], product.pk, product.price, "XTR"))
    return updates.successful_payment(customer, payload, total_amount=product.price, charge_id=charge_id)


def test_failed_payment_update_asks_to_be_handled_again(bot, fake_api, customer, product, database_fails_once):
    update = payment(customer, product)

    assert process_update(bot, Update.de_json(update)) is False
    assert not Purchase.objects.exists()
    assert not fake_api.calls_of("sendMessage")  # no apology: it will be handled, not given up

    assert process_update(bot, Update.de_json(update)) is True
    assert Purchase.objects.get().payment_id == "charge-1"
    assert "KEY-123" in fake_api.calls_of("sendMessage")[-1].params["text"]


def test_poller_fetches_a_failed_payment_again(fake_api, customer, product, database_fails_once, transactional_db):
    fake_api.push(payment(customer, product))
    poller = Poller(create_bot(), workers=2, long_polling_timeout=1)
    thread = threading.Thread(target=poller.run, daemon=True)
    thread.start()
    try:
        fake_api.wait_for("sendMessage", lambda c: "KEY-123" in c.params["text"], timeout=15)
    finally:
        poller.shutdown(grace=5)
        thread.join(timeout=5)
    assert database_fails_once == ["charge-1", "charge-1"]
    assert Purchase.objects.count() == 1
    assert fake_api.pending_updates == 0


def test_webhook_answers_500_so_telegram_repeats_a_failed_payment(
    client, settings, fake_api, customer, product, database_fails_once
):
    settings.TELEGRAM_WEBHOOK_SECRET = "s3cret"
    post = lambda: client.post(  # noqa: E731
        "/telegram/webhook/",
        payment(customer, product, charge_id="charge-9") | {"update_id": 777},
        content_type="application/json",
        headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret"},
    )
    assert post().status_code == 500
    assert not Purchase.objects.exists()
    assert post().status_code == 200  # Telegram's repeat
    assert Purchase.objects.get().payment_id == "charge-9"
    assert post().status_code == 200  # and a repeat of that changes nothing
    assert Purchase.objects.count() == 1
