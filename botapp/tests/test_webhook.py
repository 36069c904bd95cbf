"""`/telegram/webhook/`: Telegram POSTs updates; the view checks the secret, handles each update once.

Requests go through Django's test client (the whole middleware stack); the bot the view builds
talks HTTP to the fake Bot API, so the tests look at the calls the fake recorded.
"""

import json
import logging
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from botapp import callbacks, texts
from botapp.models import HandledUpdate
from botapp.testing import updates
from botapp.testing.helpers import SECRET_HEADER, WEBHOOK_URL, english, post_update, sent_to
from shop.models import Purchase, User
from shop.services.payments import invoice_create
from shop.testing.concurrency import run_at_once
from shop.testing.factories import UserFactory

SECRET = "s3cret"
HIDDEN = "KEY-123"  # the hidden content of the `product` fixture
THREADS = 6


@pytest.fixture(autouse=True)
def webhook_settings(settings):
    settings.TELEGRAM_WEBHOOK_SECRET = SECRET
    settings.SHOP_CURRENCY = "XTR"
    settings.PAYMENT_PROVIDER_TOKEN = ""
    settings.ADMIN_IDS = []


# --- the secret ---


@pytest.mark.django_db
def test_update_with_the_secret_is_processed_before_the_answer(client, fake_api, customer):
    update = updates.message(customer, "/start")
    response = post_update(client, update)
    assert response.status_code == 200
    # processed before the view returned: the reply is already at the fake, the user recorded
    replies = sent_to(fake_api, customer["id"])
    assert len(replies) == 1
    assert "Hello, Ann" in replies[0].params["text"]
    assert User.objects.get(telegram_id=customer["id"]).username == "ann"
    assert HandledUpdate.objects.filter(update_id=update["update_id"]).exists()


@pytest.mark.django_db
def test_the_webhook_needs_no_csrf_token(fake_api, customer):
    response = post_update(Client(enforce_csrf_checks=True), updates.message(customer, "/start"))
    assert response.status_code == 200
    assert len(sent_to(fake_api, customer["id"])) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("secret", ["wrong", "", None, "s3cre", "s3cret ", "S3CRET"], ids=repr)
def test_wrong_or_missing_secret_is_forbidden_and_nothing_processed(client, fake_api, customer, secret):
    update = updates.message(customer, "/start")
    response = post_update(client, update, secret=secret)
    assert response.status_code == 403
    assert fake_api.calls == []
    assert not User.objects.exists()
    assert not HandledUpdate.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("secret", ["", None], ids=repr)
def test_without_a_configured_secret_every_update_is_forbidden(settings, client, fake_api, customer, secret):
    settings.TELEGRAM_WEBHOOK_SECRET = ""
    response = post_update(client, updates.message(customer, "/start"), secret=secret)
    assert response.status_code == 403
    assert fake_api.calls == []
    assert not User.objects.exists()
    assert not HandledUpdate.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_only_post_is_allowed(client, fake_api, method):
    response = getattr(client, method)(WEBHOOK_URL, headers={SECRET_HEADER: SECRET})
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert fake_api.calls == []


# --- malformed bodies ---


@pytest.mark.django_db
@pytest.mark.parametrize(
    "raw",
    [
        "{not json",
        b"\xff\xfe\x00garbage",
        "",
        "[]",
        json.dumps([{"update_id": 5, "message": {}}]),
        "42",
        '"update"',
        "null",
        json.dumps({"message": {"text": "/start"}}),
        json.dumps({"update_id": "abc"}),
        json.dumps({"update_id": None}),
        json.dumps({"update_id": 7, "message": "not a message"}),
    ],
    ids=[
        "broken json",
        "not utf-8",
        "empty",
        "empty list",
        "list of updates",
        "number",
        "string",
        "null",
        "no update_id",
        "update_id abc",
        "update_id null",
        "message not an object",
    ],
)
def test_malformed_update_is_a_bad_request_logged_and_nothing_written(client, fake_api, caplog, raw):
    with caplog.at_level(logging.WARNING, logger="botapp.webhook"):
        response = post_update(client, raw=raw)  # the test client raises what the view raises
    assert response.status_code == 400
    assert fake_api.calls == []
    assert not HandledUpdate.objects.exists()
    assert not User.objects.exists()
    warnings = [r for r in caplog.records if r.name == "botapp.webhook" and r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "malformed update" in warnings[0].getMessage()


# --- repeats and bookkeeping ---


@pytest.mark.django_db
def test_the_same_update_twice_is_answered_but_handled_once(client, fake_api, customer):
    update = updates.message(customer, "/start")
    assert post_update(client, update).status_code == 200
    assert post_update(client, update).status_code == 200
    assert len(sent_to(fake_api, customer["id"])) == 1
    assert HandledUpdate.objects.filter(update_id=update["update_id"]).count() == 1


@pytest.mark.django_db
def test_a_repeated_payment_delivers_once(client, fake_api, customer, product):
    UserFactory(telegram_id=customer["id"], username="ann", first_name="Ann")
    update = updates.stars_payment(customer, product, charge_id="charge-repeat")
    for _ in range(3):
        assert post_update(client, update).status_code == 200
    assert Purchase.objects.count() == 1
    assert len(sent_to(fake_api, customer["id"], containing=HIDDEN)) == 1


def _age(update_id: int, days: float) -> None:
    HandledUpdate.objects.create(update_id=update_id)
    HandledUpdate.objects.filter(update_id=update_id).update(handled_at=timezone.now() - timedelta(days=days))


@pytest.mark.django_db
def test_handled_updates_older_than_two_days_are_pruned_every_thousandth_update(client, fake_api, customer):
    _age(11, days=3)
    _age(12, days=2)
    _age(13, days=1.9)
    _age(14, days=0)
    update = updates.message(customer, "/start", update_id=7000)
    assert post_update(client, update).status_code == 200
    assert sorted(HandledUpdate.objects.values_list("update_id", flat=True)) == [13, 14, 7000]


@pytest.mark.django_db
def test_handled_updates_are_kept_between_pruning_updates(client, fake_api, customer):
    _age(11, days=3)
    update = updates.message(customer, "/start", update_id=7001)
    assert post_update(client, update).status_code == 200
    assert sorted(HandledUpdate.objects.values_list("update_id", flat=True)) == [11, 7001]


@pytest.mark.django_db
def test_a_failing_handler_still_answers_200_and_the_user_gets_an_apology(client, fake_api, customer, monkeypatch, caplog):
    def broken():
        raise RuntimeError("database on fire")

    monkeypatch.setattr("botapp.handlers.common.category_list_on_sale", broken)
    update = updates.message(customer, "/catalog")
    with caplog.at_level(logging.ERROR, logger="botapp.updates"):
        response = post_update(client, update)
    assert response.status_code == 200
    replies = sent_to(fake_api, customer["id"])
    assert [c.params["text"] for c in replies] == [english(texts.something_went_wrong)]
    assert any("failed" in r.getMessage() and r.exc_info for r in caplog.records if r.name == "botapp.updates")
    # not retried by Telegram, and not handled again if it comes anyway
    assert post_update(client, update).status_code == 200
    assert len(sent_to(fake_api, customer["id"])) == 1


# --- concurrency: several web workers receive the same update at once ---


def post_at_once(bodies: list[dict]) -> list[int]:
    """POST each body on its own thread, all released together; each thread its own client and connection."""
    return run_at_once(lambda i: post_update(Client(), bodies[i]).status_code, len(bodies))


@pytest.mark.django_db(transaction=True)
def test_the_same_payment_posted_by_many_workers_at_once_is_recorded_and_delivered_once(settings, fake_api, customer, product):
    settings.ADMIN_IDS = [777]
    UserFactory(telegram_id=customer["id"], username="ann", first_name="Ann")
    update = updates.stars_payment(customer, product, charge_id="charge-concurrent")

    statuses = post_at_once([update] * THREADS)

    assert statuses == [200] * THREADS
    purchase = Purchase.objects.get()
    assert (purchase.payment_id, purchase.user.telegram_id, purchase.product_id) == ("charge-concurrent", 42, product.pk)
    assert purchase.delivered_at is not None
    assert len(sent_to(fake_api, customer["id"], containing=HIDDEN)) == 1
    assert len(sent_to(fake_api, 777)) == 1  # staff told of the sale once
    assert User.objects.count() == 1
    assert HandledUpdate.objects.filter(update_id=update["update_id"]).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_buyers_paying_at_once_both_get_their_purchase(fake_api, customer, product):
    bob = updates.tg_user(43, first_name="Bob", username="bob")
    for user in (customer, bob):
        UserFactory(telegram_id=user["id"], username=user["username"], first_name=user["first_name"])
    ann_pays = updates.stars_payment(customer, product, charge_id="charge-ann")
    bob_pays = updates.stars_payment(bob, product, charge_id="charge-bob")

    statuses = post_at_once([ann_pays, bob_pays] * (THREADS // 2))  # each also repeated

    assert statuses == [200] * THREADS
    bought = sorted(Purchase.objects.values_list("user__telegram_id", "payment_id", "review_reason"))
    assert bought == [(42, "charge-ann", ""), (43, "charge-bob", "")]
    assert not Purchase.objects.filter(delivered_at__isnull=True).exists()
    assert len(sent_to(fake_api, 42, containing=HIDDEN)) == 1
    assert len(sent_to(fake_api, 43, containing=HIDDEN)) == 1


@pytest.mark.django_db(transaction=True)
def test_a_new_customer_starting_on_many_workers_at_once_is_recorded_once(fake_api, customer):
    statuses = post_at_once([updates.message(customer, "/start") for _ in range(THREADS)])
    assert statuses == [200] * THREADS
    assert User.objects.filter(telegram_id=customer["id"]).count() == 1
    assert len(sent_to(fake_api, customer["id"])) == THREADS  # different updates: each answered


# --- answers that travel in the webhook's own reply ---


def _post_only(client, update: dict):
    """POST the update as Telegram does, without making the call its reply names (to look at the reply)."""
    return client.post(WEBHOOK_URL, data=json.dumps(update), content_type="application/json", headers={SECRET_HEADER: SECRET})


@pytest.mark.django_db
def test_a_button_press_is_answered_in_the_reply_and_its_screen_sent_by_the_bot(client, fake_api, customer, product):
    update = updates.callback(customer, callbacks.product(product.pk), message_id=7)
    response = _post_only(client, update)
    assert response.status_code == 200
    assert response.json() == {"method": "answerCallbackQuery", "callback_query_id": update["callback_query"]["id"]}
    assert fake_api.calls_of("answerCallbackQuery") == []  # not a request of its own
    (edit,) = fake_api.calls_of("editMessageText")
    assert "Editor Pro" in edit.params["text"]


@pytest.mark.django_db
def test_a_checkout_is_answered_in_the_reply(client, fake_api, customer, product):
    payload = invoice_create(telegram_id=customer["id"], product=product)[1]
    response = _post_only(client, updates.pre_checkout(customer, payload, total_amount=product.price))
    answer = response.json()
    assert (answer["method"], answer["ok"]) == ("answerPreCheckoutQuery", True)
    refused = _post_only(client, updates.pre_checkout(customer, payload + "x", total_amount=product.price)).json()
    assert refused["ok"] is False and "not valid" in refused["error_message"]
    assert fake_api.calls_of("answerPreCheckoutQuery") == []


@pytest.mark.django_db
def test_only_the_first_answer_goes_in_the_reply_and_a_failed_update_carries_none(client, fake_api, customer, product):
    fake_api.fail_next("editMessageText", 502, "Bad Gateway")  # the screen cannot be shown: Telegram must repeat
    update = updates.callback(customer, callbacks.product(product.pk), message_id=7)
    failed = _post_only(client, update)
    assert failed.status_code == 500 and not failed.get("Content-Type", "").startswith("application/json")
    again = post_update(client, update)  # Telegram's repeat is answered, in its reply, and shown
    assert again.json()["method"] == "answerCallbackQuery"
    assert len(fake_api.calls_of("answerCallbackQuery")) == 1  # made by "Telegram" from the reply
    assert fake_api.calls_of("editMessageText")[-1].status == 200


@pytest.mark.django_db
def test_polling_answers_presses_with_requests_of_their_own(send, fake_api, customer, product):
    send(updates.callback(customer, callbacks.product(product.pk), message_id=7))
    assert len(fake_api.calls_of("answerCallbackQuery")) == 1
