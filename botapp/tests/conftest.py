"""Fixtures for tests that run the bot as a real process against the fake Bot API."""

import signal

import pytest

from botapp.testing.fake_bot_api import FakeBotAPI
from botapp.testing.process import RunBot
from conftest import TOKEN


@pytest.fixture
def api():
    with FakeBotAPI(TOKEN) as fake:
        yield fake


@pytest.fixture
def runbot(api, tmp_path):
    started = []

    def start(*args, env=None):
        bot = RunBot(api, tmp_path, *args, env=env)
        started.append(bot)
        return bot

    yield start
    for bot in started:
        if bot.process.poll() is None:
            bot.stop(signal.SIGKILL)
