"""The poller: batches confirmed only after processing, failures isolated, API errors retried."""

import threading
import time

import pytest

from botapp.bot import create_bot
from botapp.polling import FETCH_PAUSE, Poller
from botapp.testing import updates
from botapp.testing.helpers import running
from shop.selectors.catalog import category_list_on_sale


def new_poller(workers: int) -> Poller:
    return Poller(create_bot(), workers=workers, long_polling_timeout=1)


@pytest.fixture
def poller(fake_api, transactional_db):
    poller = new_poller(workers=2)
    with running(poller):
        yield poller


def test_a_failing_update_does_not_lose_the_rest_of_its_batch(fake_api, monkeypatch, transactional_db):
    real = category_list_on_sale
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database hiccup")
        return real()

    monkeypatch.setattr("botapp.handlers.common.category_list_on_sale", flaky)
    ann, bob = updates.tg_user(1, first_name="Ann"), updates.tg_user(2, first_name="Bob")
    # all three are in the first batch the poller fetches
    fake_api.push(updates.message(ann, "/catalog"))
    fake_api.push(updates.message(ann, "/help"))
    fake_api.push(updates.message(bob, "/catalog"))

    with running(new_poller(workers=2)):
        fake_api.wait_for("sendMessage", lambda c: c.params["chat_id"] == "1" and "Help" in c.params["text"])
        # Ann's and Bob's /catalog run side by side: whichever came first failed, the other is shown
        failed = fake_api.wait_for("sendMessage", lambda c: "went wrong" in c.params["text"]).params["chat_id"]
        other = "2" if failed == "1" else "1"
        fake_api.wait_for("sendMessage", lambda c: c.params["chat_id"] == other and "catalog" in c.params["text"].lower())
    assert fake_api.pending_updates == 0  # processed and confirmed, even the one that failed


def test_updates_of_one_user_are_handled_in_order(fake_api, poller):
    ann = updates.tg_user(1)
    for command in ["/help", "/terms", "/paysupport", "/catalog"]:
        fake_api.push(updates.message(ann, command))
    fake_api.wait_for("sendMessage", lambda c: "catalog is empty" in c.params["text"])
    texts = [c.params["text"] for c in fake_api.calls_of("sendMessage")]
    assert [t.split("\n")[0] for t in texts] == [
        "❔ <b>Help</b>",
        "📄 <b>Terms of sale</b>",
        "💬 <b>Payment support</b>",
        "🛍 The catalog is empty for now. Please come back later.",
    ]


def test_getupdates_429_and_500_are_waited_out(fake_api, transactional_db):
    fake_api.fail_next("getUpdates", 429, "Too Many Requests: retry after 1", retry_after=1)
    fake_api.fail_next("getUpdates", 500, "Internal Server Error")
    fake_api.push(updates.message(updates.tg_user(3), "/help"))
    with running(new_poller(workers=1)):
        fake_api.wait_for("sendMessage", timeout=15)
    polls = fake_api.calls_of("getUpdates")
    assert polls[1].at - polls[0].at >= 0.9  # honoured retry_after
    assert fake_api.pending_updates == 0


def test_shutdown_while_idle_returns_quickly(fake_api, poller):
    fake_api.wait_for("getUpdates")
    assert poller.shutdown(grace=5) is True


def test_an_html_error_page_from_a_proxy_does_not_stop_polling(fake_api, transactional_db):
    fake_api.html_error_next("getUpdates", 502, times=2)
    fake_api.push(updates.message(updates.tg_user(5), "/help"))
    with running(new_poller(workers=1)) as thread:
        fake_api.wait_for("sendMessage", lambda c: c.status == 200, timeout=15)
        assert thread.is_alive()


def test_a_retried_update_does_not_replay_other_users_handled_ones(fake_api, transactional_db):
    ann, bob = updates.tg_user(1, first_name="Ann"), updates.tg_user(2, first_name="Bob")
    fake_api.fail_next("sendMessage", 502, "Bad Gateway")  # Ann's reply, the first one sent
    fake_api.push(updates.message(ann, "/terms"))
    fake_api.push(updates.message(bob, "/help"))
    with running(new_poller(workers=1)):
        fake_api.wait_for("sendMessage", lambda c: c.params["chat_id"] == "1" and c.status == 200, timeout=15)
    to_bob = [c for c in fake_api.calls_of("sendMessage") if c.params["chat_id"] == "2"]
    assert len(to_bob) == 1  # handled once, although the batch was fetched again for Ann
    assert fake_api.pending_updates == 0


def held_up_catalog(monkeypatch) -> threading.Event:
    """/catalog waits for the returned event to be set: the one worker is held up on it."""
    real, gate = category_list_on_sale, threading.Event()

    def slow():
        assert gate.wait(10)
        return real()

    monkeypatch.setattr("botapp.handlers.common.category_list_on_sale", slow)
    return gate


def test_updates_arriving_while_every_worker_is_busy_are_fetched_in_batches(fake_api, monkeypatch, transactional_db):
    """Fetched one by one they would be handled no sooner: a getUpdates and a journal row each."""
    gate = held_up_catalog(monkeypatch)
    fake_api.push(updates.message(updates.tg_user(1), "/catalog"))
    fake_api.push(updates.message(updates.tg_user(2), "/help"))  # ready, and no worker free for it
    customers = [updates.tg_user(100 + n) for n in range(30)]
    try:
        with running(new_poller(workers=1)):
            fake_api.wait_for("getUpdates")
            polls_before, started = len(fake_api.calls_of("getUpdates")), time.monotonic()
            for _ in range(5):  # 150 updates, one every 4 ms or so
                for customer in customers:
                    fake_api.push(updates.message(customer, "/help"))
                    time.sleep(0.004)
            polls, elapsed = len(fake_api.calls_of("getUpdates")) - polls_before, time.monotonic() - started
            gate.set()
            for customer in customers:
                chat = str(customer["id"])
                fake_api.wait_for("sendMessage", lambda c, chat=chat: c.params["chat_id"] == chat)
    finally:
        gate.set()
    assert polls <= elapsed / FETCH_PAUSE + 5  # one a FETCH_PAUSE at most, not one an update (150)
    assert fake_api.pending_updates == 0


def test_a_newcomer_is_not_held_up_by_other_users_backlogs(fake_api, monkeypatch, transactional_db):
    """Users with updates queued keep every worker's next turn ready; a newcomer's first update is
    still fetched, and takes its turn among theirs rather than after all of them."""
    gate = held_up_catalog(monkeypatch)
    ann, bob, cat, dan = (updates.tg_user(n, first_name=name) for n, name in [(1, "Ann"), (2, "Bob"), (3, "Cat"), (4, "Dan")])
    fake_api.push(updates.message(ann, "/catalog"))
    for _ in range(4):
        fake_api.push(updates.message(bob, "/help"))
        fake_api.push(updates.message(cat, "/help"))
    try:
        with running(new_poller(workers=1)):
            fake_api.wait_for("getUpdates")
            time.sleep(0.2)  # Ann's, Bob's and Cat's are in, Ann's is in hand
            fake_api.push(updates.message(dan, "/help"))
            time.sleep(0.3)
            gate.set()
            deadline = time.monotonic() + 10
            while len([c for c in fake_api.calls_of("sendMessage") if c.params["chat_id"] in ("2", "3", "4")]) < 9:
                assert time.monotonic() < deadline, "not every /help was answered"
                time.sleep(0.05)
    finally:
        gate.set()  # an early failure must not leave the worker held up past the test
    order = [c.params["chat_id"] for c in fake_api.calls_of("sendMessage")]
    assert order.index("4") < len(order) - 1 - order[::-1].index("2")  # Dan's before Bob's last
    assert order.index("4") < len(order) - 1 - order[::-1].index("3")  # and before Cat's last
