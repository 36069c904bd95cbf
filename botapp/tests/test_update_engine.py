"""Updates the library cannot read never stop the shop (polling and the webhook), and the webhook
handles each update once even when copies arrive together."""

import logging
import threading
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from botapp.bot import create_bot
from botapp.models import HandledUpdate, PolledBatch, SetAsideUpdate
from botapp.polling import Poller
from botapp.testing import updates
from botapp.testing.fake_bot_api import TOKEN, FakeBotAPI
from botapp.testing.helpers import body, post_update, sent_to
from shop.models import Purchase
from shop.testing.concurrency import run_at_once
from shop.testing.factories import PurchaseFactory, UserFactory

SECRET = "webhook-secret"
STAFF = 777
PAYLOAD_TEXT = "private-paid-media-payload"

# Real shapes pyTelegramBotAPI 4.37 cannot read (it raises while parsing them):
# purchased_paid_media: it reads `from_user` where Telegram sends `from`.
PURCHASED_PAID_MEDIA = {"from": {"id": 9, "is_bot": False, "first_name": "Zoe"}, "paid_media_payload": PAYLOAD_TEXT}


def purchased_paid_media(update_id: int) -> dict:
    return {"update_id": update_id, "purchased_paid_media": PURCHASED_PAID_MEDIA}


def unreadable_payment(user: dict, update_id: int, charge_id: str = "charge-unreadable") -> dict:
    """A successful_payment in a shape this library cannot read (a field renamed, as a Bot API change would)."""
    update = updates.successful_payment(user, payload="x", total_amount=50, charge_id=charge_id, update_id=update_id)
    payment = update["message"]["successful_payment"]
    payment["payload"] = payment.pop("invoice_payload")
    return update


@pytest.fixture(autouse=True)
def shop_settings(settings):
    settings.TELEGRAM_WEBHOOK_SECRET = SECRET
    settings.ADMIN_IDS = [STAFF]
    settings.FLOOD_RATE = 0


def answered(fake_api, chat_id: int) -> list[str]:
    return [body(c) for c in sent_to(fake_api, chat_id, method="sendMessage")]


def run_poller_until(fake_api, *predicates):
    poller = Poller(create_bot(), workers=2, long_polling_timeout=1)
    thread = threading.Thread(target=poller.run, daemon=True)
    thread.start()
    try:
        for method, predicate in predicates:
            fake_api.wait_for(method, predicate)
    finally:
        assert poller.shutdown(grace=5)
        thread.join(timeout=5)


# --- polling ---


@pytest.mark.django_db(transaction=True)
def test_polling_sets_an_unreadable_update_aside_and_handles_the_rest_of_its_batch(fake_api, caplog):
    ann, bob = updates.tg_user(1, first_name="Ann"), updates.tg_user(2, first_name="Bob")
    fake_api.push(updates.message(ann, "/start", update_id=100))
    fake_api.push(purchased_paid_media(101))
    fake_api.push(updates.message(bob, "/start", update_id=102))

    with caplog.at_level(logging.INFO):
        run_poller_until(
            fake_api,
            ("sendMessage", lambda c: c.params["chat_id"] == "1"),
            ("sendMessage", lambda c: c.params["chat_id"] == "2"),
        )

    assert fake_api.pending_updates == 0  # all three confirmed: the odd one does not come back
    record = SetAsideUpdate.objects.get()
    assert (record.update_id, record.kind, record.is_payment) == (101, "purchased_paid_media", False)
    assert record.payload == purchased_paid_media(101)  # kept whole for staff
    assert "KeyError" in record.error
    lines = [r.getMessage() for r in caplog.records if "101" in r.getMessage()]
    assert lines and all(PAYLOAD_TEXT not in line for line in caplog.messages)  # logged without its content
    assert answered(fake_api, STAFF) == []  # no money in it: nobody is disturbed


@pytest.mark.django_db(transaction=True)
def test_polling_a_batch_of_only_unreadable_updates_confirms_it(fake_api):
    fake_api.push(purchased_paid_media(200))
    fake_api.push(purchased_paid_media(201))
    ann = updates.tg_user(1, first_name="Ann")

    poller = Poller(create_bot(), workers=2, long_polling_timeout=1)
    thread = threading.Thread(target=poller.run, daemon=True)
    thread.start()
    try:
        fake_api.wait_for("getUpdates", lambda c: c.params.get("offset") == "202")
        fake_api.push(updates.message(ann, "/start", update_id=202))  # the shop goes on
        fake_api.wait_for("sendMessage", lambda c: c.params["chat_id"] == "1")
    finally:
        assert poller.shutdown(grace=5)
        thread.join(timeout=5)
    assert sorted(SetAsideUpdate.objects.values_list("update_id", flat=True)) == [200, 201]


@pytest.mark.django_db(transaction=True)
def test_polling_an_update_that_is_not_strict_json_is_set_aside_and_the_rest_go_on(fake_api):
    ann = updates.tg_user(1, first_name="Ann")
    odd = updates.message(ann, "/help", update_id=250)
    odd["message"]["date"] = float("inf")  # Python's JSON reads Infinity; no database stores it as JSON
    fake_api.push(odd)
    fake_api.push(updates.message(ann, "/start", update_id=251))

    run_poller_until(fake_api, ("sendMessage", lambda c: c.params["chat_id"] == "1"))

    assert SetAsideUpdate.objects.get().update_id == 250
    assert not PolledBatch.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_polling_an_unreadable_payment_alerts_staff_at_once_with_its_payment_id(fake_api):
    zoe = updates.tg_user(9, first_name="Zoe")
    fake_api.push(unreadable_payment(zoe, update_id=300, charge_id="stars-charge-42"))

    run_poller_until(fake_api, ("sendMessage", lambda c: c.params["chat_id"] == str(STAFF)))

    [alert] = answered(fake_api, STAFF)
    assert "stars-charge-42" in alert and "50 XTR" in alert and "<code>9</code>" in alert
    assert SetAsideUpdate.objects.get().is_payment
    assert Purchase.objects.count() == 0  # nothing guessed: staff settle it


# --- the webhook ---


@pytest.mark.django_db
def test_the_webhook_answers_200_to_an_unreadable_update_and_sets_it_aside_once(client, fake_api):
    zoe = updates.tg_user(9, first_name="Zoe")
    update = unreadable_payment(zoe, update_id=400)

    first, repeat = post_update(client, update), post_update(client, update)

    assert (first.status_code, repeat.status_code) == (200, 200)  # Telegram need not repeat it for a day
    assert SetAsideUpdate.objects.get().update_id == 400
    assert len(answered(fake_api, STAFF)) == 1  # one alert, however often it comes


@pytest.mark.django_db
def test_the_webhook_still_refuses_what_is_not_an_update(client, fake_api):
    assert post_update(client, {"update_id": 5, "message": []}).status_code == 400
    assert not SetAsideUpdate.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_copies_of_an_update_arriving_together_are_handled_once(fake_api):
    start = updates.message(updates.tg_user(5, first_name="Eve"), "/start", update_id=500)

    statuses = run_at_once(lambda i: post_update(Client(), start).status_code, 4)

    # one request handles it; a copy gets 200 if it came after, 503 (Telegram sends it again) if during
    assert statuses.count(200) >= 1 and set(statuses) <= {200, 503}
    assert post_update(Client(), start).status_code == 200  # Telegram's later repeat of a 503'd copy
    assert len(answered(fake_api, 5)) == 1
    assert HandledUpdate.objects.get(update_id=500).done


@pytest.mark.django_db
def test_a_copy_of_an_update_still_being_handled_is_asked_again_and_a_dead_claim_taken_over(client, fake_api):
    start = updates.message(updates.tg_user(5, first_name="Eve"), "/start", update_id=550)
    HandledUpdate.objects.create(update_id=550, done=False)  # another request is on it right now

    assert post_update(client, start).status_code == 503
    assert answered(fake_api, 5) == []

    HandledUpdate.objects.filter(update_id=550).update(handled_at=timezone.now() - timedelta(minutes=6))  # it died
    assert post_update(client, start).status_code == 200
    assert len(answered(fake_api, 5)) == 1
    assert HandledUpdate.objects.get(update_id=550).done


@pytest.mark.django_db
def test_a_refund_through_the_webhook_is_recorded_by_every_copy_never_claimed(client, fake_api):
    purchase = PurchaseFactory(user=UserFactory(telegram_id=5), payment_id="refunded-charge")
    refund = updates.refunded_payment(updates.tg_user(5), total_amount=10, charge_id="refunded-charge", update_id=560)
    HandledUpdate.objects.create(update_id=560, done=False)  # even if some request had claimed it

    assert post_update(client, refund).status_code == 200

    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.REFUNDED  # the buyer loses access at once


@pytest.mark.django_db
def test_an_update_whose_handling_must_be_repeated_releases_its_claim(client, fake_api):
    start = updates.message(updates.tg_user(5, first_name="Eve"), "/start", update_id=600)
    fake_api.fail_next("sendMessage", 502, "Bad Gateway")

    assert post_update(client, start).status_code == 500  # Telegram sends it again
    assert not HandledUpdate.objects.filter(update_id=600).exists()
    assert post_update(client, start).status_code == 200  # ...and the repeat is handled

    assert len([c for c in fake_api.calls_of("sendMessage") if c.status == 200]) == 1


@pytest.mark.django_db
def test_the_claim_costs_one_query_and_a_repeat_two(client, fake_api, django_assert_num_queries):
    from botapp.webhook import DONE, OURS, _claim

    with django_assert_num_queries(1):
        assert _claim(700) == OURS
    HandledUpdate.objects.filter(update_id=700).update(done=True)
    with django_assert_num_queries(2):
        assert _claim(700) == DONE


# --- nobody waits for a flooding customer; a crash loses nothing; memory stays flat ---


class SlowBotAPI(FakeBotAPI):
    """The fake Bot API answering every call after a realistic round trip."""

    latency = 0.05

    def _dispatch(self, method, params):
        time.sleep(self.latency)
        return super()._dispatch(method, params)


@pytest.fixture
def slow_api(settings):
    with SlowBotAPI(TOKEN) as api:
        settings.TELEGRAM_API_URL = api.url
        settings.TELEGRAM_BOT_TOKEN = TOKEN
        yield api


@pytest.mark.django_db(transaction=True)
def test_a_customer_pressing_a_button_300_times_holds_up_nobody_else(slow_api, settings):
    settings.FLOOD_RATE, settings.FLOOD_BURST = 3, 10  # the defaults
    flooder, eve = updates.tg_user(1, first_name="Max"), updates.tg_user(2, first_name="Eve")
    for _ in range(300):
        slow_api.push(updates.callback(flooder, "menu"))
    slow_api.push(updates.message(eve, "/start"))

    poller = Poller(create_bot(), workers=4, long_polling_timeout=1)
    thread = threading.Thread(target=poller.run, daemon=True)
    started = time.monotonic()
    thread.start()
    try:
        slow_api.wait_for("sendMessage", lambda c: c.params["chat_id"] == "2", timeout=30)
        waited = time.monotonic() - started
    finally:
        poller.shutdown(grace=5)
        thread.join(timeout=10)
    assert waited < 1.0, f"Eve waited {waited:.2f} s behind the flood"


@pytest.mark.django_db(transaction=True)
def test_updates_confirmed_to_telegram_but_not_handled_are_handled_at_the_next_start(fake_api):
    """A crash after the journal was written and Telegram confirmed, before the handler ran."""
    ann = updates.tg_user(1, first_name="Ann")
    journaled = [updates.message(ann, "/help", update_id=900), purchased_paid_media(901)]  # the second: unreadable
    PolledBatch.objects.create(last_update_id=901, updates=journaled)

    run_poller_until(fake_api, ("sendMessage", lambda c: c.params["chat_id"] == "1" and "Help" in c.params["text"]))

    assert not PolledBatch.objects.exists()
    assert SetAsideUpdate.objects.get().update_id == 901


@pytest.mark.django_db(transaction=True)
def test_after_a_crash_before_telegram_was_told_each_update_is_handled_once_and_none_lost(fake_api):
    """The journal was written, then the process died before getUpdates confirmed the batch: Telegram
    sends it again, with a new update behind it."""
    ann, bob = updates.tg_user(1, first_name="Ann"), updates.tg_user(2, first_name="Bob")
    batch = [updates.message(ann, "/help", update_id=10), updates.message(ann, "/terms", update_id=11)]
    PolledBatch.objects.create(last_update_id=11, updates=batch)
    for update in [*batch, updates.message(bob, "/help", update_id=12)]:
        fake_api.push(update)
    fake_api.delay_next("getUpdates", 0.5)  # the journal's updates are handled before the first poll answers

    run_poller_until(
        fake_api,
        ("sendMessage", lambda c: c.params["chat_id"] == "1" and "Terms" in c.params["text"]),
        ("sendMessage", lambda c: c.params["chat_id"] == "2"),
    )

    assert len(answered(fake_api, 1)) == 2 and len(answered(fake_api, 2)) == 1  # nothing twice, nothing lost
    assert not PolledBatch.objects.exists()
    assert fake_api.pending_updates == 0


@pytest.mark.django_db(transaction=True)
def test_the_backlog_in_memory_and_in_the_journal_stays_bounded(slow_api, settings):
    settings.FLOOD_RATE = 0
    for user_id in range(400):
        slow_api.push(updates.message(updates.tg_user(1000 + user_id), "/help"))
    poller = Poller(create_bot(), workers=2, long_polling_timeout=1, max_pending=50)
    thread = threading.Thread(target=poller.run, daemon=True)
    thread.start()
    largest = 0
    try:
        while slow_api.pending_updates:
            largest = max(largest, sum(len(b) for b in PolledBatch.objects.values_list("updates", flat=True)))
            time.sleep(0.05)
            if not thread.is_alive():
                break
        slow_api.wait_for("sendMessage", lambda c: c.params["chat_id"] == "1399", timeout=60)
    finally:
        poller.shutdown(grace=5)
        thread.join(timeout=10)
    # Unbounded, all 400 would be fetched at once. Bounded: what waits (at most one batch of 100 beyond
    # the 50), plus the rest of the oldest batch still in the journal.
    assert 0 < largest <= 50 + 2 * 100
    assert len(slow_api.calls_of("sendMessage")) == 400


@pytest.mark.django_db
def test_an_update_whose_handling_blew_up_is_handled_when_telegram_repeats_it(client, fake_api, monkeypatch):
    start = updates.message(updates.tg_user(5, first_name="Eve"), "/start", update_id=800)

    def broken(bot, update):
        raise RuntimeError("a bug outside the handlers")

    monkeypatch.setattr("botapp.webhook.process_update", broken)
    with pytest.raises(RuntimeError):  # Django answers 500; the test client raises it
        post_update(client, start)
    monkeypatch.undo()

    assert post_update(client, start).status_code == 200
    assert len(answered(fake_api, 5)) == 1


@pytest.mark.django_db(transaction=True)
def test_a_payment_that_cannot_be_handled_is_kept_for_staff_before_it_leaves_the_journal(fake_api, monkeypatch):
    monkeypatch.setattr("botapp.polling.MAX_PAYMENT_ATTEMPTS", 3)
    monkeypatch.setattr("botapp.polling.MAX_BACKOFF", 0.05)

    def database_gone(**kwargs):
        raise RuntimeError("the database is gone")

    monkeypatch.setattr("botapp.handlers.buying.purchase_record_payment", database_gone)
    zoe = updates.tg_user(9, first_name="Zoe")
    payment = updates.successful_payment(zoe, payload="x", total_amount=50, charge_id="charge-kept", update_id=950)
    fake_api.push(payment)

    run_poller_until(fake_api, ("sendMessage", lambda c: c.params["chat_id"] == str(STAFF)))

    kept = SetAsideUpdate.objects.get()
    assert (kept.update_id, kept.is_payment, kept.payload) == (950, True, payment)
    assert "not handled after 3 attempts" in kept.error
    [alert] = answered(fake_api, STAFF)
    assert "charge-kept" in alert
    assert not PolledBatch.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_polling_journals_an_update_with_nul_and_lone_surrogates_on_every_database(fake_api):
    ann = updates.tg_user(1, first_name="Ann\ud800")  # not UTF-8
    fake_api.push(updates.message(ann, "hello\x00there", update_id=970))  # PostgreSQL keeps no NUL in JSON
    fake_api.push(updates.message(ann, "/help", update_id=971))

    run_poller_until(fake_api, ("sendMessage", lambda c: c.params["chat_id"] == "1" and "Help" in c.params["text"]))

    assert not PolledBatch.objects.exists()
    assert not SetAsideUpdate.objects.exists()
