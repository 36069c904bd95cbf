"""Flood control: a user sending dozens of updates a second is slowed down; nobody else is, and no payment is dropped.

End-to-end through `process_update` (a real TeleBot talking HTTP to the fake Bot API), plus unit tests of
`botapp.flood.FloodGate` on an injected clock.
"""

import itertools
import time
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from telebot.types import Update

from botapp import callbacks, flood, texts
from botapp.bot import create_bot
from botapp.dispatch import process_update
from botapp.models import HandledUpdate
from botapp.testing import updates
from botapp.testing.helpers import Clock, english, post_update, sent_to
from shop.models import Purchase, UnmatchedPayment
from shop.testing.concurrency import run_at_once

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


def replies_to(fake_api, chat_id: int, *, after: int = 0) -> list:
    """What the bot said to the chat, apart from asking it to slow down."""
    messages = sent_to(fake_api, chat_id, after=after, method="sendMessage")
    return [c for c in messages if c.params["text"] != english(texts.slow_down)]


def slow_downs_to(fake_api, chat_id: int, *, after: int = 0) -> list:
    messages = sent_to(fake_api, chat_id, after=after, method="sendMessage")
    return [c for c in messages if c.params["text"] == english(texts.slow_down)]


def at_most(seconds: float, tokens: float = BURST) -> float:
    """The most a token bucket holding `tokens` can let through in `seconds` (tolerant of a slow machine)."""
    return tokens + RATE * seconds + 1e-6


def spam(send, user: dict, count: int) -> None:
    for i in range(count):
        assert send(updates.message(user, f"spam {i}")) is True


# --- end to end ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_flooder_is_slowed_down_while_an_interleaved_user_is_served_at_once(send, fake_api, flooder, bystander):
    """50 updates from the flooder as fast as they can be processed; between every fifth of them, one from
    a user chatting normally (10 in all, within their own allowance)."""
    bystander_waits = []
    started = time.monotonic()
    for i in range(50):
        assert send(updates.message(flooder, f"spam {i}")) is True
        if i % 5 == 4:
            mark = fake_api.mark()
            sent = time.monotonic()
            assert send(updates.message(bystander, f"hello {i}")) is True
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
def test_two_users_flooding_at_once_are_each_limited_to_their_own_burst(send, fake_api, flooder, bystander):
    started = time.monotonic()
    for i in range(30):
        assert send(updates.message(flooder, f"spam {i}")) is True
        assert send(updates.message(bystander, f"spam {i}")) is True
    elapsed = time.monotonic() - started
    for user_id in (FLOODER, BYSTANDER):
        assert BURST <= len(replies_to(fake_api, user_id)) <= at_most(elapsed)
        assert len(slow_downs_to(fake_api, user_id)) == 1


@pytest.mark.django_db
def test_dropped_updates_are_confirmed_not_retried(send, fake_api, flooder):
    """Dropping is a decision, not a failure: process_update returns True (the poller confirms the update)."""
    started = time.monotonic()
    results = [send(updates.message(flooder, f"spam {i}")) for i in range(BURST + 5)]
    elapsed = time.monotonic() - started
    assert results == [True] * (BURST + 5)
    assert BURST <= len(replies_to(fake_api, FLOODER)) <= at_most(elapsed)


@pytest.mark.django_db
def test_a_flooding_button_presser_is_asked_to_slow_down_in_the_button_answer(send, fake_api, flooder):
    presses = [updates.callback(flooder, callbacks.catalog()) for _ in range(BURST + 10)]
    started = time.monotonic()
    for press in presses:
        assert send(press) is True
    elapsed = time.monotonic() - started
    answers = fake_api.calls_of("answerCallbackQuery")
    slow = [a for a in answers if a.params.get("text") == english(texts.slow_down)]
    assert len(slow) == 1
    handled = fake_api.calls_of("editMessageText")  # the screens actually shown
    assert BURST <= len(handled) <= at_most(elapsed)
    # every press is answered exactly once (a dropped one too, or its spinner keeps turning)
    ids = [a.params["callback_query_id"] for a in answers]
    assert sorted(ids) == sorted(p["callback_query"]["id"] for p in presses)
    assert not slow_downs_to(fake_api, FLOODER)  # the notice went into the button's answer, not the chat


@pytest.mark.django_db
def test_payments_of_a_flooder_are_never_dropped(send, fake_api, flooder, product):
    spam(send, flooder, BURST + 20)  # far over the limit
    assert slow_downs_to(fake_api, FLOODER)
    payload = updates.stars_payload(FLOODER, product)

    for _ in range(3):  # the client may retry; each query needs its answer within 10 s
        mark = fake_api.mark()
        assert send(updates.pre_checkout(flooder, payload, total_amount=product.price)) is True
        (answer,) = [c for c in fake_api.calls[mark:] if c.method == "answerPreCheckoutQuery"]
        assert answer.params["ok"] == "True"

    mark = fake_api.mark()
    update = updates.successful_payment(flooder, payload, total_amount=product.price, charge_id="charge-flood-1")
    assert send(update) is True
    purchase = Purchase.objects.get(payment_id="charge-flood-1")
    assert purchase.user.telegram_id == FLOODER and purchase.product == product and purchase.gives_access
    assert sent_to(fake_api, FLOODER, after=mark, method="sendMessage", containing=HIDDEN)

    # a forged payment from the flooder is not dropped either: it is kept for staff
    assert send(updates.successful_payment(flooder, "forged", total_amount=5, charge_id="charge-flood-2")) is True
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
    assert send(refund) is True
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.REFUNDED
    assert replies_to(fake_api, FLOODER, after=mark)

    # still over the limit for everything else
    mark = fake_api.mark()
    spam(send, flooder, 3)
    assert not replies_to(fake_api, FLOODER, after=mark)


@pytest.mark.django_db
def test_payment_updates_do_not_use_up_the_flooders_allowance(send, fake_api, flooder, product):
    payload = updates.stars_payload(FLOODER, product)
    for _ in range(BURST + 5):
        send(updates.pre_checkout(flooder, payload, total_amount=product.price))
    mark = fake_api.mark()
    spam(send, flooder, BURST)
    assert len(replies_to(fake_api, FLOODER, after=mark)) == BURST
    assert not slow_downs_to(fake_api, FLOODER)


@pytest.mark.django_db
def test_after_a_pause_the_flooder_is_served_again_and_not_warned_twice(send, fake_api, flooder):
    spam(send, flooder, BURST + 10)  # tokens used up (less than one left)
    emptied = time.monotonic()
    assert len(slow_downs_to(fake_api, FLOODER)) == 1

    time.sleep(1.1)  # RATE tokens a second: three updates' worth refilled
    mark = fake_api.mark()
    spam(send, flooder, 8)
    served = len(replies_to(fake_api, FLOODER, after=mark))
    assert RATE <= served <= at_most(time.monotonic() - emptied, tokens=1)
    assert served < 8
    # still flooding within ten seconds of the notice: dropped quietly, no second notice
    assert not slow_downs_to(fake_api, FLOODER, after=mark)


@pytest.mark.django_db
def test_each_user_has_an_allowance_of_their_own(send, fake_api):
    users = [updates.tg_user(1000 + i, first_name=f"U{i}") for i in range(5)]
    for _ in range(BURST):
        for user in users:
            assert send(updates.message(user, "hi")) is True
    for user in users:
        assert len(replies_to(fake_api, user["id"])) == BURST
        assert not slow_downs_to(fake_api, user["id"])


@pytest.mark.django_db
def test_updates_without_a_sender_are_not_limited(send, fake_api):
    for i in range(BURST * 3):
        post = {"message_id": i + 1, "date": 1_700_000_000, "chat": {"id": -100123, "type": "channel"}, "text": "news"}
        assert send({"update_id": 900_000 + i, "channel_post": post}) is True
    assert fake_api.calls_of("sendMessage") == []
    assert flood.flood_gate()._buckets == {}


@pytest.mark.django_db
def test_flood_rate_zero_turns_flood_control_off(settings, send, fake_api, flooder):
    settings.FLOOD_RATE = 0
    spam(send, flooder, 50)
    assert len(replies_to(fake_api, FLOODER)) == 50
    assert not slow_downs_to(fake_api, FLOODER)


@pytest.mark.django_db
def test_a_flooder_through_the_webhook_gets_200_for_dropped_updates(client, fake_api, flooder):
    """A dropped update is answered 200 and remembered: Telegram must not send it again."""
    statuses = []
    started = time.monotonic()
    for i in range(BURST + 10):
        update = updates.message(flooder, f"spam {i}")
        statuses.append(post_update(client, update).status_code)
    assert statuses == [200] * (BURST + 10)
    assert HandledUpdate.objects.count() == BURST + 10
    assert BURST <= len(replies_to(fake_api, FLOODER)) <= at_most(time.monotonic() - started)
    assert len(slow_downs_to(fake_api, FLOODER)) == 1


@pytest.mark.django_db
def test_a_flood_from_many_threads_lets_through_no_more_than_the_burst(settings, fake_api, flooder):
    """Polling workers and webhook threads share the gate: concurrent updates of one user still count once each."""
    settings.FLOOD_RATE = 0.001  # no refill during the test: exactly the burst gets through
    bots = [create_bot() for _ in range(4)]

    def worker(i: int) -> list[bool]:
        return [process_update(bots[i], Update.de_json(updates.message(flooder, f"t{n}"))) for n in range(10)]

    results = run_at_once(worker, len(bots))

    assert results == [[True] * 10] * 4
    assert len(replies_to(fake_api, FLOODER)) == BURST
    assert len(slow_downs_to(fake_api, FLOODER)) == 1


# --- FloodGate on an injected clock ---------------------------------------------------------------


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
