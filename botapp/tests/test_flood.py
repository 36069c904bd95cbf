"""Flood control: a user sending dozens of updates a second is slowed down; nobody else is, and no payment is dropped.

End-to-end through `process_update` (a real TeleBot talking HTTP to the fake Bot API), plus unit tests of
`botapp.flood.FloodGate` on an injected clock.
"""

import itertools
import json
import threading
import time
from types import SimpleNamespace

import pytest
from django.utils import translation
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from telebot.types import Update

from botapp import callbacks, flood, texts
from botapp.dispatch import process_update
from botapp.models import HandledUpdate
from botapp.testing import updates
from shop.invoices import InvoiceTerms, invoice_payload
from shop.models import Purchase, UnmatchedPayment

RATE, BURST = 3, 10
FLOODER, BYSTANDER = 42, 77
SECRET = "s3cret"
HIDDEN = "KEY-123"  # the hidden content of the `product` fixture


@pytest.fixture(autouse=True)
def flood_settings(settings):
    settings.FLOOD_RATE = RATE
    settings.FLOOD_BURST = BURST
    settings.SHOP_CURRENCY = "XTR"
    settings.PAYMENT_PROVIDER_TOKEN = ""
    settings.ADMIN_IDS = []
    settings.TELEGRAM_WEBHOOK_SECRET = SECRET


@pytest.fixture
def flooder():
    return updates.tg_user(FLOODER, first_name="Flo", username="flo", language_code="en")


@pytest.fixture
def bystander():
    return updates.tg_user(BYSTANDER, first_name="Bea", username="bea", language_code="en")


@pytest.fixture
def feed(bot):
    def _feed(update: dict) -> bool:
        return process_update(bot, Update.de_json(update))

    return _feed


def slow_down_text() -> str:
    with translation.override("en"):
        return texts.slow_down()


def messages_to(fake_api, chat_id: int, *, after: int = 0) -> list:
    return [c for c in fake_api.calls[after:] if c.method == "sendMessage" and c.params.get("chat_id") == str(chat_id)]


def replies_to(fake_api, chat_id: int, *, after: int = 0) -> list:
    """What the bot said to the chat, apart from asking it to slow down."""
    return [c for c in messages_to(fake_api, chat_id, after=after) if c.params["text"] != slow_down_text()]


def slow_downs_to(fake_api, chat_id: int, *, after: int = 0) -> list:
    return [c for c in messages_to(fake_api, chat_id, after=after) if c.params["text"] == slow_down_text()]


def at_most(seconds: float, tokens: float = BURST) -> float:
    """The most a token bucket holding `tokens` can let through in `seconds` (tolerant of a slow machine)."""
    return tokens + RATE * seconds + 1e-6


def spam(feed, user: dict, count: int) -> None:
    for i in range(count):
        assert feed(updates.message(user, f"spam {i}")) is True


# --- end to end ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_flooder_is_slowed_down_while_an_interleaved_user_is_served_at_once(feed, fake_api, flooder, bystander):
    """50 updates from the flooder as fast as they can be processed; between every fifth of them, one from
    a user chatting normally (10 in all, within their own allowance)."""
    bystander_waits = []
    started = time.monotonic()
    for i in range(50):
        assert feed(updates.message(flooder, f"spam {i}")) is True
        if i % 5 == 4:
            mark = fake_api.mark()
            sent = time.monotonic()
            assert feed(updates.message(bystander, f"hello {i}")) is True
            # answered before process_update returned: nothing of the bystander's waits behind the flooder
            assert len(replies_to(fake_api, BYSTANDER, after=mark)) == 1, f"bystander's update after {i} not answered"
            bystander_waits.append(time.monotonic() - sent)
    elapsed = time.monotonic() - started

    handled = len(replies_to(fake_api, FLOODER))
    assert BURST <= handled <= at_most(elapsed), (handled, elapsed)
    assert handled <= 13 or elapsed > 0.9  # about the burst: the test runs well under a second
    assert len(slow_downs_to(fake_api, FLOODER)) == 1  # asked once, not once per dropped update
    assert len(replies_to(fake_api, BYSTANDER)) == 10
    assert not slow_downs_to(fake_api, BYSTANDER)
    assert max(bystander_waits) < 1.0, max(bystander_waits)


@pytest.mark.django_db
def test_two_users_flooding_at_once_are_each_limited_to_their_own_burst(feed, fake_api, flooder, bystander):
    started = time.monotonic()
    for i in range(30):
        assert feed(updates.message(flooder, f"spam {i}")) is True
        assert feed(updates.message(bystander, f"spam {i}")) is True
    elapsed = time.monotonic() - started
    for user_id in (FLOODER, BYSTANDER):
        assert BURST <= len(replies_to(fake_api, user_id)) <= at_most(elapsed)
        assert len(slow_downs_to(fake_api, user_id)) == 1


@pytest.mark.django_db
def test_dropped_updates_are_confirmed_not_retried(feed, fake_api, flooder):
    """Dropping is a decision, not a failure: process_update returns True (the poller confirms the update)."""
    started = time.monotonic()
    results = [feed(updates.message(flooder, f"spam {i}")) for i in range(BURST + 5)]
    elapsed = time.monotonic() - started
    assert results == [True] * (BURST + 5)
    assert BURST <= len(replies_to(fake_api, FLOODER)) <= at_most(elapsed)


@pytest.mark.django_db
def test_a_flooding_button_presser_is_asked_to_slow_down_in_the_button_answer(feed, fake_api, flooder):
    presses = [updates.callback(flooder, callbacks.catalog()) for _ in range(BURST + 10)]
    started = time.monotonic()
    for press in presses:
        assert feed(press) is True
    elapsed = time.monotonic() - started
    answers = fake_api.calls_of("answerCallbackQuery")
    slow = [a for a in answers if a.params.get("text") == slow_down_text()]
    assert len(slow) == 1
    handled = fake_api.calls_of("editMessageText")  # the screens actually shown
    assert BURST <= len(handled) <= at_most(elapsed)
    # every press is answered exactly once (a dropped one too, or its spinner keeps turning)
    ids = [a.params["callback_query_id"] for a in answers]
    assert sorted(ids) == sorted(p["callback_query"]["id"] for p in presses)
    assert not slow_downs_to(fake_api, FLOODER)  # the notice went into the button's answer, not the chat


@pytest.mark.django_db
def test_payments_of_a_flooder_are_never_dropped(feed, fake_api, flooder, product):
    spam(feed, flooder, BURST + 20)  # far over the limit
    assert slow_downs_to(fake_api, FLOODER)
    payload = invoice_payload(InvoiceTerms(FLOODER, product.pk, product.price, "XTR"))

    for _ in range(3):  # the client may retry; each query needs its answer within 10 s
        mark = fake_api.mark()
        assert feed(updates.pre_checkout(flooder, payload, total_amount=product.price)) is True
        (answer,) = [c for c in fake_api.calls[mark:] if c.method == "answerPreCheckoutQuery"]
        assert answer.params["ok"] == "True"

    mark = fake_api.mark()
    update = updates.successful_payment(flooder, payload, total_amount=product.price, charge_id="charge-flood-1")
    assert feed(update) is True
    purchase = Purchase.objects.get(payment_id="charge-flood-1")
    assert purchase.user.telegram_id == FLOODER and purchase.product == product and purchase.gives_access
    assert [c for c in messages_to(fake_api, FLOODER, after=mark) if HIDDEN in c.params["text"]]

    # a forged payment from the flooder is not dropped either: it is kept for staff
    assert feed(updates.successful_payment(flooder, "forged", total_amount=5, charge_id="charge-flood-2")) is True
    assert UnmatchedPayment.objects.filter(payment_id="charge-flood-2").exists()

    # a refund notice (a service message without content type) is not dropped either
    mark = fake_api.mark()
    refund = updates.message(
        flooder,
        refunded_payment={
            "currency": "XTR",
            "total_amount": product.price,
            "invoice_payload": payload,
            "telegram_payment_charge_id": "charge-flood-1",
        },
    )
    assert feed(refund) is True
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.REFUNDED
    assert replies_to(fake_api, FLOODER, after=mark)

    # still over the limit for everything else
    mark = fake_api.mark()
    spam(feed, flooder, 3)
    assert not replies_to(fake_api, FLOODER, after=mark)


@pytest.mark.django_db
def test_payment_updates_do_not_use_up_the_flooders_allowance(feed, fake_api, flooder, product):
    payload = invoice_payload(InvoiceTerms(FLOODER, product.pk, product.price, "XTR"))
    for _ in range(BURST + 5):
        feed(updates.pre_checkout(flooder, payload, total_amount=product.price))
    mark = fake_api.mark()
    spam(feed, flooder, BURST)
    assert len(replies_to(fake_api, FLOODER, after=mark)) == BURST
    assert not slow_downs_to(fake_api, FLOODER)


@pytest.mark.django_db
def test_after_a_pause_the_flooder_is_served_again_and_not_warned_twice(feed, fake_api, flooder):
    spam(feed, flooder, BURST + 10)  # tokens used up (less than one left)
    emptied = time.monotonic()
    assert len(slow_downs_to(fake_api, FLOODER)) == 1

    time.sleep(1.1)  # RATE tokens a second: three updates' worth refilled
    mark = fake_api.mark()
    spam(feed, flooder, 8)
    served = len(replies_to(fake_api, FLOODER, after=mark))
    assert RATE <= served <= at_most(time.monotonic() - emptied, tokens=1)
    assert served < 8
    # still flooding within ten seconds of the notice: dropped quietly, no second notice
    assert not slow_downs_to(fake_api, FLOODER, after=mark)


@pytest.mark.django_db
def test_each_user_has_an_allowance_of_their_own(feed, fake_api):
    users = [updates.tg_user(1000 + i, first_name=f"U{i}") for i in range(5)]
    for _ in range(BURST):
        for user in users:
            assert feed(updates.message(user, "hi")) is True
    for user in users:
        assert len(replies_to(fake_api, user["id"])) == BURST
        assert not slow_downs_to(fake_api, user["id"])


@pytest.mark.django_db
def test_updates_without_a_sender_are_not_limited(feed, fake_api):
    for i in range(BURST * 3):
        post = {"message_id": i + 1, "date": 1_700_000_000, "chat": {"id": -100123, "type": "channel"}, "text": "news"}
        assert feed({"update_id": 900_000 + i, "channel_post": post}) is True
    assert fake_api.calls_of("sendMessage") == []
    assert flood.flood_gate()._buckets == {}


@pytest.mark.django_db
def test_flood_rate_zero_turns_flood_control_off(settings, feed, fake_api, flooder):
    settings.FLOOD_RATE = 0
    spam(feed, flooder, 50)
    assert len(replies_to(fake_api, FLOODER)) == 50
    assert not slow_downs_to(fake_api, FLOODER)


@pytest.mark.django_db
def test_a_flooder_through_the_webhook_gets_200_for_dropped_updates(client, fake_api, flooder):
    """A dropped update is answered 200 and remembered: Telegram must not send it again."""
    statuses = []
    started = time.monotonic()
    for i in range(BURST + 10):
        update = updates.message(flooder, f"spam {i}")
        response = client.post(
            "/telegram/webhook/",
            data=json.dumps(update),
            content_type="application/json",
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
        )
        statuses.append(response.status_code)
    assert statuses == [200] * (BURST + 10)
    assert HandledUpdate.objects.count() == BURST + 10
    assert BURST <= len(replies_to(fake_api, FLOODER)) <= at_most(time.monotonic() - started)
    assert len(slow_downs_to(fake_api, FLOODER)) == 1


@pytest.mark.django_db
def test_a_flood_from_many_threads_lets_through_no_more_than_the_burst(settings, fake_api, flooder):
    """Polling workers and webhook threads share the gate: concurrent updates of one user still count once each."""
    from botapp.bot import create_bot

    settings.FLOOD_RATE = 0.001  # no refill during the test: exactly the burst gets through
    bots = [create_bot() for _ in range(4)]
    results = []

    def worker(bot, n):
        for i in range(n):
            results.append(process_update(bot, Update.de_json(updates.message(flooder, f"t{i}"))))

    threads = [threading.Thread(target=worker, args=(bot, 10)) for bot in bots]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results == [True] * 40
    assert len(replies_to(fake_api, FLOODER)) == BURST
    assert len(slow_downs_to(fake_api, FLOODER)) == 1


# --- FloodGate on an injected clock ---------------------------------------------------------------


class Clock:
    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(flood, "time", SimpleNamespace(monotonic=clock))
    return clock


def test_gate_allows_a_burst_then_warns_once(clock):
    gate = flood.FloodGate(rate=RATE, burst=BURST)
    assert [gate.allow(1) for _ in range(BURST)] == [(True, False)] * BURST
    assert gate.allow(1) == (False, True)
    assert [gate.allow(1) for _ in range(20)] == [(False, False)] * 20


def test_gate_refills_at_the_rate_up_to_the_burst(clock):
    gate = flood.FloodGate(rate=RATE, burst=BURST)
    for _ in range(BURST):
        gate.allow(1)
    assert gate.allow(1)[0] is False
    clock.advance(1 / RATE)
    assert gate.allow(1)[0] is True
    assert gate.allow(1)[0] is False
    clock.advance(1.0)
    assert [gate.allow(1)[0] for _ in range(RATE + 1)] == [True] * RATE + [False]
    clock.advance(3600)  # a long pause refills the burst, never more
    assert [gate.allow(1)[0] for _ in range(BURST + 1)] == [True] * BURST + [False]


def test_gate_warns_again_only_after_ten_seconds(clock):
    gate = flood.FloodGate(rate=0.01, burst=1)  # (practically) no refill
    assert gate.allow(1) == (True, False)
    assert gate.allow(1) == (False, True)
    clock.advance(9.9)
    assert gate.allow(1) == (False, False)
    clock.advance(0.2)
    assert gate.allow(1) == (False, True)


def test_gate_keeps_users_apart(clock):
    gate = flood.FloodGate(rate=RATE, burst=2)
    assert [gate.allow(1)[0] for _ in range(3)] == [True, True, False]
    assert [gate.allow(2)[0] for _ in range(3)] == [True, True, False]


def test_gate_with_rate_zero_always_allows(clock):
    gate = flood.FloodGate(rate=0, burst=0)
    assert all(gate.allow(1) == (True, False) for _ in range(1000))
    assert gate._buckets == {}


def test_gate_forgets_idle_users(clock):
    gate = flood.FloodGate(rate=RATE, burst=BURST)
    for user_id in range(100):
        gate.allow(user_id)
    clock.advance(flood.IDLE_FORGET + 1)
    gate.allow(1000)
    assert set(gate._buckets) == {1000}
    # a forgotten user starts again with a full burst
    assert [gate.allow(5)[0] for _ in range(BURST + 1)] == [True] * BURST + [False]


def test_gate_is_rebuilt_when_the_settings_change(settings):
    settings.FLOOD_RATE, settings.FLOOD_BURST = 1, 2
    first = flood.flood_gate()
    assert flood.flood_gate() is first
    settings.FLOOD_BURST = 5
    second = flood.flood_gate()
    assert second is not first and (second.rate, second.burst) == (1, 5)


@hsettings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rate=st.sampled_from([0.5, 1, 3, 10]),
    burst=st.integers(1, 15),
    events=st.lists(st.tuples(st.floats(0, 2, allow_nan=False), st.integers(1, 3)), max_size=150),
)
def test_gate_never_lets_through_more_than_burst_plus_rate_times_time(monkeypatch, rate, burst, events):
    """In any stretch of time t, a user gets at most burst + rate*t updates through, and is warned at most
    once per 10 s; a user keeping to the rate is never refused."""
    clock = Clock()
    monkeypatch.setattr(flood, "time", SimpleNamespace(monotonic=clock))
    gate = flood.FloodGate(rate=rate, burst=burst)
    allowed: dict[int, list[float]] = {}
    warned: dict[int, list[float]] = {}
    for gap, user_id in events:
        clock.advance(gap)
        ok, warn = gate.allow(user_id)
        assert not (ok and warn)
        (allowed if ok else warned if warn else {}).setdefault(user_id, []).append(clock.now)
    for times in allowed.values():
        for i in range(len(times)):
            for j in range(i, len(times)):
                assert j - i + 1 <= burst + rate * (times[j] - times[i]) + 1e-9
    for times in warned.values():
        assert all(b - a > 10 for a, b in itertools.pairwise(times))

    polite = flood.FloodGate(rate=rate, burst=burst)
    for _ in range(30):
        clock.advance(1.001 / rate)  # at the rate (a hair slower: floating-point clocks)
        assert polite.allow(7)[0] is True
