"""`runbot --processes N`: one poller feeding N worker processes (botapp.processes), through a real
`runbot` and the fake Bot API: customers are served, each customer always by the same process,
and a worker process that dies loses no payment and records none twice."""

import os
import re
import signal

import pytest

from botapp.testing import updates
from botapp.testing.helpers import sent_to, wait_until
from shop.models import Purchase
from shop.testing.factories import ProductFactory

FAST = {"DELIVERY_RETRY_SECONDS": "1", "TELEGRAM_TIMEOUT": "2"}
HANDLED = re.compile(r"\[bot-process-(\d)\] botapp\.updates: update \d+ \S+ from (\d+):")
STARTED = re.compile(r"worker process (\d) started \(pid (\d+)\)")


@pytest.fixture
def product(transactional_db):
    return ProductFactory(name="Editor Pro", price=50, hidden_content="KEY-SECRET-7")


def worker_pids(bot) -> dict[int, int]:
    return {int(index): int(pid) for index, pid in STARTED.findall(bot.output())}


def test_two_processes_serve_every_customer_each_always_in_the_same_process(api, runbot, transactional_db):
    bot = runbot("--processes", "2", env=FAST)
    api.wait_for("getUpdates", timeout=60)
    assert sorted(worker_pids(bot)) == [0, 1]
    customers = range(101, 109)
    for round_ in ("/start", "/help", "/catalog"):
        for user_id in customers:
            api.push(updates.message(updates.tg_user(user_id), round_))
    for user_id in customers:
        wait_until(lambda u=user_id: len(sent_to(api, u, method="sendMessage")) >= 3, timeout=30, what=f"3 replies to {user_id}")
    wait_until(lambda: len(HANDLED.findall(bot.output())) >= 24, timeout=10, what="the log lines")
    served_by: dict[int, set[str]] = {}
    for process, user_id in HANDLED.findall(bot.output()):
        served_by.setdefault(int(user_id), set()).add(process)
    assert served_by == {user_id: {str(user_id % 2)} for user_id in customers}
    code, _ = bot.stop()
    assert code == 0, bot.output()
    assert all(not os.path.exists(f"/proc/{pid}") for pid in worker_pids(bot).values())


def test_a_worker_process_killed_during_a_payment_loses_nothing_and_records_it_once(api, runbot, product):
    bot = runbot("--processes", "2", env=FAST)
    api.wait_for("getUpdates", timeout=60)
    ann = updates.tg_user(42)  # 42 % 2: worker process 0
    api.delay_next("sendMessage", 30)  # the content send hangs: the purchase is recorded by then
    api.push(updates.stars_payment(ann, product, charge_id="charge-worker-kill"))
    api.wait_for("sendMessage", lambda c: "KEY-SECRET-7" in c.params["text"], timeout=30)
    os.kill(worker_pids(bot)[0], signal.SIGKILL)
    wait_until(
        lambda: [c for c in sent_to(api, 42, method="sendMessage", containing="KEY-SECRET-7") if c.status == 200],
        timeout=30,
        what="the content delivered by the process started in place of the killed one",
    )
    assert "worker process 0 died" in bot.output()
    assert Purchase.objects.filter(payment_id="charge-worker-kill").count() == 1
    wait_until(lambda: Purchase.objects.get().delivered_at is not None, timeout=10, what="delivery recorded")
    api.push(updates.message(updates.tg_user(43), "/help"))  # the poller and the other worker go on
    wait_until(lambda: sent_to(api, 43, method="sendMessage"), timeout=20, what="a reply to another customer")
    assert bot.process.poll() is None
    assert bot.stop()[0] == 0


def test_workers_do_not_outlive_a_killed_poller(api, runbot, transactional_db):
    bot = runbot("--processes", "2")
    api.wait_for("getUpdates", timeout=60)
    pids = worker_pids(bot).values()
    assert len(pids) == 2
    bot.stop(signal.SIGKILL)
    wait_until(lambda: all(not os.path.exists(f"/proc/{pid}") or _zombie(pid) for pid in pids), timeout=10, what="workers gone")


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] == "Z"
    except FileNotFoundError:
        return True
