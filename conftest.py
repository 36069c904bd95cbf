"""Fixtures shared by the test suites of `shop` and `botapp`."""

import os
import signal

import hypothesis
import pytest
from telebot.types import Update

from botapp.bot import create_bot
from botapp.dispatch import process_update
from botapp.testing import helpers, updates
from botapp.testing.fake_bot_api import TOKEN, FakeBotAPI
from botapp.testing.process import RunBot
from shop.testing.factories import CategoryFactory, ProductFactory

# Property-based tests explore new random inputs on developers' machines; CI replays a fixed
# sequence, so a run there never fails on an input nobody has seen (new finds become @example).
hypothesis.settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    hypothesis.settings.load_profile("ci")


@pytest.fixture(autouse=True)
def empty_cache():
    """Each test starts with nothing cached (screens are cached under a catalog version the test's
    rolled-back database may give again)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def fresh_flood_gate():
    """Flood control remembers users per process: each test starts with nobody remembered."""
    from botapp import flood

    flood._gates.clear()


@pytest.fixture
def fake_api_class():
    """The fake Bot API `fake_api` runs (a test module may override this with a subclass)."""
    return FakeBotAPI


@pytest.fixture
def fake_api(settings, fake_api_class):
    with fake_api_class(TOKEN) as api:
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
def send(bot, fake_api):
    """Feed one update (a dict as Telegram sends it) to the bot, as polling and the webhook do; returns
    what `process_update` returned (False: it must be handled again)."""

    def _send(update: dict) -> bool:
        fake_api.note(update)  # Telegram has the user's message (the bot may copy it)
        outcome = process_update(bot, Update.de_json(update))
        assert outcome in (True, False)
        return outcome

    return _send


@pytest.fixture
def customer():
    return updates.tg_user(42, first_name="Ann", username="ann", language_code="en")


@pytest.fixture
def press(send, fake_api, customer):
    """Press an inline button under a message of the bot (as `customer` unless `user=`); returns the calls made
    in answer."""

    def _press(data: str, *, user=None, message_id: int = 1):
        return helpers.press(send, fake_api, user or customer, data, message_id=message_id)

    return _press


@pytest.fixture
def press_for_screen(send, fake_api, customer):
    """Press a button under message 777 (unless `message_id=`); returns the screen the bot showed in its place,
    after checking the press was answered once and nothing else was shown."""

    def _press_for_screen(data: str, *, user=None, message_id: int = 777):
        return helpers.press_for_screen(send, fake_api, user or customer, data, message_id=message_id)

    return _press_for_screen


@pytest.fixture
def command(send, fake_api, customer):
    """Send a text message; returns the one message the bot sent in answer."""

    def _command(text: str, *, user=None):
        return helpers.command(send, fake_api, user or customer, text)

    return _command


@pytest.fixture
def pay(send, customer):
    """Telegram's successful_payment for an invoice the bot sent; returns the update (to send it again)."""

    def _pay(invoice, *, user=None, total_amount=None, payload=None, charge_id=None):
        return helpers.pay(send, user or customer, invoice, total_amount=total_amount, payload=payload, charge_id=charge_id)

    return _pay


@pytest.fixture
def category(db):
    return CategoryFactory(category_name="Keys")


@pytest.fixture
def product(category):
    return ProductFactory(
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
