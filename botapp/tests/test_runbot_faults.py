"""`runbot` under Bot API faults and crashes: it keeps running, loses no update, records no
payment twice, and delivers purchased content once the API recovers."""

import signal
import time

import pytest

from botapp.testing import updates
from botapp.testing.helpers import sent_to, wait_until
from shop.models import Purchase
from shop.testing.factories import ProductFactory

FAST = {"DELIVERY_RETRY_SECONDS": "1", "TELEGRAM_TIMEOUT": "2"}


@pytest.fixture
def product(transactional_db):
    return ProductFactory(name="Editor Pro", price=50, hidden_content="KEY-SECRET-7")


def content_deliveries(api, chat_id):
    """Content messages Telegram accepted (failed attempts are recorded too, with their status)."""
    return [c for c in sent_to(api, chat_id, method="sendMessage", containing="KEY-SECRET-7") if c.status == 200]


def test_getupdates_faults_are_ridden_out(api, runbot, transactional_db):
    api.fail_next("getUpdates", 429, "Too Many Requests: retry after 1", retry_after=1)
    api.fail_next("getUpdates", 502, "Bad Gateway")
    api.drop_next("getUpdates")
    api.delay_next("getUpdates", 2)
    bot = runbot(env=FAST)
    ann = updates.tg_user(42)
    api.push(updates.message(ann, "/help"))
    api.wait_for("sendMessage", lambda c: c.params["chat_id"] == "42" and c.status == 200, timeout=40)
    assert bot.process.poll() is None  # still running
    code, _ = bot.stop()
    assert code == 0, bot.output()
    assert api.pending_updates == 0


def test_replies_the_api_refused_are_sent_once_it_recovers(api, runbot, transactional_db):
    bot = runbot(env=FAST)
    api.wait_for("getUpdates", timeout=20)
    api.fail_next("sendMessage", 502, "Bad Gateway")
    api.drop_next("sendMessage")
    api.delay_next("sendMessage", 3)  # longer than TELEGRAM_TIMEOUT: a timeout
    ann = updates.tg_user(42)
    api.push(updates.message(ann, "/terms"))
    api.wait_for("sendMessage", lambda c: c.status == 200 and "Terms" in c.params["text"], timeout=60)
    assert bot.process.poll() is None
    assert bot.stop()[0] == 0


def test_payment_while_sends_fail_is_recorded_once_and_delivered_later(api, runbot, product):
    bot = runbot(env=FAST)
    api.wait_for("getUpdates", timeout=20)
    ann = updates.tg_user(42)
    api.fail_next("sendMessage", 502, "Bad Gateway", times=2)
    api.drop_next("sendMessage")
    api.push(updates.stars_payment(ann, product, charge_id="charge-faults"))
    api.push(updates.stars_payment(ann, product, charge_id="charge-faults"))  # Telegram repeats it meanwhile
    wait_until(lambda: content_deliveries(api, 42), timeout=60, what="the content to be delivered")
    time.sleep(2)  # would a second delivery follow?
    assert len(content_deliveries(api, 42)) == 1
    purchase = Purchase.objects.get()
    assert (purchase.payment_id, purchase.delivered_at is not None) == ("charge-faults", True)
    assert bot.stop()[0] == 0


def test_killed_after_recording_a_payment_the_restart_delivers_it_once(api, runbot, product):
    bot = runbot(env=FAST)
    api.wait_for("getUpdates", timeout=20)
    ann = updates.tg_user(42)
    api.delay_next("sendMessage", 30)  # the content send hangs: the purchase is recorded by then
    api.push(updates.stars_payment(ann, product, charge_id="charge-kill"))
    api.wait_for("sendMessage", lambda c: "KEY-SECRET-7" in c.params["text"], timeout=20)
    bot.stop(signal.SIGKILL)
    assert Purchase.objects.filter(payment_id="charge-kill").count() == 1
    assert Purchase.objects.get().delivered_at is None

    restarted = runbot(env=FAST)
    wait_until(lambda: content_deliveries(api, 42), timeout=60, what="the content to be delivered")
    time.sleep(2)
    assert len(content_deliveries(api, 42)) == 1
    assert Purchase.objects.count() == 1
    assert Purchase.objects.get().delivered_at is not None
    assert restarted.stop()[0] == 0
    assert api.pending_updates == 0


def test_debug_logging_shows_neither_the_token_nor_hidden_content(api, runbot, product):
    """telebot and urllib3 log URLs and parameters at DEBUG; they stay at INFO whatever LOG_LEVEL."""
    bot = runbot(env={**FAST, "LOG_LEVEL": "DEBUG"})
    api.wait_for("getUpdates", timeout=20)
    ann = updates.tg_user(42)
    api.push(updates.stars_payment(ann, product, charge_id="charge-log"))
    api.wait_for("sendMessage", lambda c: "KEY-SECRET-7" in c.params["text"], timeout=20)
    api.push(updates.message(ann, f"/start p{product.pk}"))
    api.wait_for("sendMessage", lambda c: "Editor Pro" in c.params["text"] and "KEY" not in c.params["text"])
    bot.stop()
    output = bot.output()
    assert "successful_payment" in output or "message from 42" in output  # the log was written
    assert api.token.split(":")[1] not in output
    assert "KEY-SECRET-7" not in output
