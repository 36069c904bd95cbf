"""Fixtures shared by the test suites of `shop` and `botapp`."""

import os
import signal

import hypothesis
import pytest
from telebot.types import Update

from botapp.bot import create_bot
from botapp.dispatch import process_update
from botapp.testing import updates
from botapp.testing.fake_bot_api import FakeBotAPI
from botapp.testing.process import RunBot
from shop.models import Category, Product

TOKEN = "123456:TEST-token"

# Property-based tests explore new random inputs on developers' machines; CI replays a fixed
# sequence, so a run there never fails on an input nobody has seen (new finds become @example).
hypothesis.settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    hypothesis.settings.load_profile("ci")


@pytest.fixture(autouse=True)
def fresh_flood_gate():
    """Flood control remembers users per process: each test starts with nobody remembered."""
    from botapp import flood

    flood._gate = None


@pytest.fixture
def fake_api(settings):
    with FakeBotAPI(TOKEN) as api:
        settings.TELEGRAM_API_URL = api.url
        settings.TELEGRAM_BOT_TOKEN = TOKEN
        yield api


@pytest.fixture
def api():
    """A fake Bot API for a bot running as its own process (see `runbot`)."""
    with FakeBotAPI(TOKEN) as fake:
        yield fake


@pytest.fixture
def runbot(api, tmp_path):
    """Start `manage.py runbot` processes against `api`; they are killed at the end if still running."""
    started = []

    def start(*args, env=None):
        process = RunBot(api, tmp_path, *args, env=env)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.process.poll() is None:
            process.stop(signal.SIGKILL)


@pytest.fixture
def bot(fake_api):
    return create_bot()


@pytest.fixture
def send(bot):
    """Feed one update (a dict as Telegram sends it) to the bot, as polling and the webhook do."""

    def _send(update: dict) -> None:
        process_update(bot, Update.de_json(update))

    return _send


@pytest.fixture
def customer():
    return updates.tg_user(42, first_name="Ann", username="ann", language_code="en")


@pytest.fixture
def category(db):
    return Category.objects.create(category_name="Keys")


@pytest.fixture
def product(category):
    return Product.objects.create(
        category=category,
        name="Editor Pro",
        description="A <b>great</b> editor.",
        price=50,
        hidden_content="KEY-123",
    )


@pytest.fixture
def run_due_tasks(db):
    """Run the background tasks that are due, as runbot's worker would; returns how many ran.

    (The worker's own loop recycles DB connections, which a test's transaction cannot allow.)
    """
    from django_tasks_db.management.commands.db_worker import Worker
    from django_tasks_db.models import DBTaskResult

    worker = Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    )

    def run() -> int:
        ran = 0
        for _ in range(100):
            task = DBTaskResult.objects.ready().order_by("run_after").first()
            if task is None:
                break
            task.claim(worker.worker_id)
            worker.run_task(task)
            ran += 1
        return ran

    return run


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Let fixtures see whether the test failed (browser tests take a screenshot then)."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """admin_client creates a superuser per test; the production hasher would take most of the run."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
