"""process_update: one failing update never takes the bot down, and every update leaves one log line."""

import logging
import re
import socket

import pytest
from django.utils import translation
from telebot import apihelper

from botapp import callbacks
from botapp.testing import updates
from botapp.testing.fake_bot_api import TOKEN
from botapp.texts import language_for
from shop.selectors.catalog import category_list_on_sale

pytestmark = pytest.mark.django_db

APOLOGY = "Sorry, something went wrong on our side. Please try again in a moment."
TOKEN_SECRET = TOKEN.partition(":")[2]


@pytest.fixture
def catalog_fails_once(monkeypatch):
    """The next catalog query raises, as a lost database connection would; later ones work."""
    original = category_list_on_sale
    failures = [RuntimeError("database went away")]

    def flaky():
        if failures:
            raise failures.pop()
        return original()

    monkeypatch.setattr("botapp.handlers.common.category_list_on_sale", flaky)


def update_log_lines(caplog):
    return [r for r in caplog.records if r.name == "botapp.updates" and r.levelno == logging.INFO]


def test_failing_message_handler_apologizes_and_the_next_update_works(send, fake_api, customer, product, catalog_fails_once):
    send(updates.message(customer, "/catalog"))  # must not raise

    (apology,) = fake_api.calls_of("sendMessage")
    assert apology.params["chat_id"] == "42"
    assert apology.params["text"] == APOLOGY

    mark = fake_api.mark()
    send(updates.message(customer, "/catalog"))

    catalog = fake_api.wait_for("sendMessage", after=mark, timeout=1)
    assert "Catalog" in catalog.params["text"]
    assert catalog.json("reply_markup")["inline_keyboard"][0][0]["text"] == "Keys (1)"


def test_failing_button_apologizes_and_the_next_press_works(send, fake_api, customer, product, catalog_fails_once):
    send(updates.callback(customer, callbacks.catalog()))

    assert [c.params["text"] for c in fake_api.calls_of("sendMessage")] == [APOLOGY]

    mark = fake_api.mark()
    send(updates.callback(customer, callbacks.catalog(), message_id=12))

    edit = fake_api.wait_for("editMessageText", after=mark, timeout=1)
    assert edit.params["message_id"] == "12"
    assert edit.json("reply_markup")["inline_keyboard"][0][0]["text"] == "Keys (1)"


def test_failing_button_is_still_answered(send, fake_api, customer, product, catalog_fails_once):
    """An unanswered button keeps its loading spinner; Telegram expects an answer to every query."""
    update = updates.callback(customer, callbacks.catalog())

    send(update)

    answers = fake_api.calls_of("answerCallbackQuery")
    assert [a.params["callback_query_id"] for a in answers] == [update["callback_query"]["id"]]


def test_update_kinds_without_a_handler_are_processed_quietly(send, fake_api, customer, caplog, db):
    caplog.set_level(logging.INFO)
    send(updates.my_chat_member(customer, "kicked"))

    assert fake_api.calls == []
    (line,) = update_log_lines(caplog)
    assert "my_chat_member from 42: ok" in line.getMessage()


@pytest.mark.parametrize(
    ("build", "kind"),
    [
        (lambda user: updates.message(user, "/start"), "message"),
        (lambda user: updates.callback(user, callbacks.menu()), "callback_query"),
        (lambda user: {"update_id": 99001, "edited_message": updates.message(user, "edited")["message"]}, "edited_message"),
    ],
    ids=["message", "callback_query", "edited_message"],
)
def test_each_update_logs_one_info_line_with_kind_user_and_duration(send, customer, caplog, db, build, kind):
    caplog.set_level(logging.INFO)
    update = build(customer)

    send(update)

    (line,) = update_log_lines(caplog)
    message = line.getMessage()
    assert kind in message
    assert str(update["update_id"]) in message
    assert f"from {customer['id']}" in message
    assert re.search(r" in \d+\.\d ms, \d+ queries$", message)


def test_failed_update_is_logged_once_at_info_and_with_its_traceback(send, customer, product, caplog, catalog_fails_once):
    caplog.set_level(logging.INFO)

    send(updates.message(customer, "/catalog"))

    (line,) = update_log_lines(caplog)
    assert "failed" in line.getMessage()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors
    assert errors[0].exc_info is not None
    assert "database went away" in caplog.text


def test_logs_never_contain_the_bot_token(send, customer, product, caplog, catalog_fails_once):
    caplog.set_level(logging.INFO)

    send(updates.message(customer, "/start"))
    send(updates.message(customer, "/catalog"))  # fails
    send(updates.callback(customer, callbacks.catalog()))
    send(updates.message(customer, "hello"))

    assert len(update_log_lines(caplog)) == 4
    assert TOKEN_SECRET not in caplog.text


def test_unreachable_bot_api_does_not_leak_the_token_into_the_logs(send, customer, caplog, db, monkeypatch):
    """Connection errors from requests carry the request URL, which has the token in its path."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    monkeypatch.setattr(apihelper, "API_URL", f"http://127.0.0.1:{closed_port}/bot{{0}}/{{1}}")
    caplog.set_level(logging.INFO)

    send(updates.message(customer, "/start"))  # must not raise

    assert len(update_log_lines(caplog)) == 1
    assert TOKEN_SECRET not in caplog.text


def test_update_is_handled_in_the_senders_language_and_the_language_is_restored(send, fake_api, db):
    before = translation.get_language()
    ivan = updates.tg_user(77, first_name="Иван", username="ivan", language_code="ru")

    send(updates.message(ivan, "/start"))

    assert translation.get_language() == before
    (sent,) = fake_api.calls_of("sendMessage")
    assert "Hello" not in sent.params["text"]


@pytest.mark.parametrize(
    ("code", "language"),
    [
        ("ru", "ru"),
        ("ru-RU", "ru"),
        ("RU", "ru"),
        ("en", "en"),
        ("en-US", "en"),
        ("uk", "en"),
        ("de", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_language_for(code, language):
    assert language_for(code) == language
