"""`manage.py setwebhook`: registering (and removing) the webhook with the fake Bot API."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from botapp.bot import ALLOWED_UPDATES

SECRET = "s3cret"
URL = "https://shop.example.com/telegram/webhook/"


@pytest.fixture(autouse=True)
def webhook_settings(settings, fake_api):
    settings.TELEGRAM_WEBHOOK_SECRET = SECRET
    settings.SHOP_CURRENCY = "XTR"
    settings.PAYMENT_PROVIDER_TOKEN = ""


def setwebhook(*args, **options) -> str:
    out = io.StringIO()
    call_command("setwebhook", *args, stdout=out, **options)
    return out.getvalue()


def test_registers_url_secret_allowed_updates_and_max_connections(fake_api):
    output = setwebhook(URL, max_connections=10)
    [call] = fake_api.calls_of("setWebhook")
    assert call.params["url"] == URL
    assert call.params["secret_token"] == SECRET
    allowed = json.loads(call.params["allowed_updates"])
    assert isinstance(allowed, list)
    assert {"message", "callback_query", "pre_checkout_query"} <= set(allowed)
    assert allowed == ALLOWED_UPDATES
    assert int(call.params["max_connections"]) == 10
    assert call.params["drop_pending_updates"] == "False"  # pending updates are kept
    assert fake_api.webhook_url == URL
    assert URL in output


def test_max_connections_defaults_to_40(fake_api):
    setwebhook(URL)
    [call] = fake_api.calls_of("setWebhook")
    assert int(call.params["max_connections"]) == 40


def test_max_connections_from_the_command_line(fake_api):
    setwebhook(URL, "--max-connections", "7")
    [call] = fake_api.calls_of("setWebhook")
    assert int(call.params["max_connections"]) == 7


@pytest.mark.parametrize(
    "url",
    ["http://shop.example.com/telegram/webhook/", "shop.example.com/telegram/webhook/", "ftp://shop.example.com/", ""],
)
def test_refuses_anything_but_an_https_url(fake_api, url):
    with pytest.raises(CommandError, match="https://"):
        setwebhook(url)
    assert fake_api.calls_of("setWebhook") == []
    assert fake_api.webhook_url == ""


def test_refuses_a_missing_url(fake_api):
    with pytest.raises(CommandError, match="https://"):
        setwebhook()
    assert fake_api.calls_of("setWebhook") == []


def test_refuses_without_a_webhook_secret(settings, fake_api):
    settings.TELEGRAM_WEBHOOK_SECRET = ""
    with pytest.raises(CommandError, match="TELEGRAM_WEBHOOK_SECRET"):
        setwebhook(URL)
    assert fake_api.calls_of("setWebhook") == []
    assert fake_api.webhook_url == ""


def test_refuses_without_a_bot_token(settings, fake_api):
    settings.TELEGRAM_BOT_TOKEN = ""
    with pytest.raises(CommandError, match="TELEGRAM_BOT_TOKEN"):
        setwebhook(URL)
    assert fake_api.calls == []


def test_telegrams_refusal_is_a_command_error(fake_api):
    fake_api.fail_next("setWebhook", 400, "Bad Request: bad webhook: Failed to resolve host")
    with pytest.raises(CommandError, match="Failed to resolve host"):
        setwebhook(URL)
    assert fake_api.webhook_url == ""


def test_delete_removes_the_webhook(fake_api):
    setwebhook(URL)
    assert fake_api.webhook_url == URL
    output = setwebhook(delete=True)
    [call] = fake_api.calls_of("deleteWebhook")
    assert call.params["drop_pending_updates"] == "False"  # pending updates are kept
    assert fake_api.webhook_url == ""
    assert "runbot" in output


def test_delete_needs_neither_url_nor_secret(settings, fake_api):
    settings.TELEGRAM_WEBHOOK_SECRET = ""
    setwebhook("--delete")
    assert len(fake_api.calls_of("deleteWebhook")) == 1


@pytest.mark.django_db
def test_runbot_refuses_to_poll_while_the_webhook_is_set(fake_api):
    setwebhook(URL)
    with pytest.raises(CommandError, match="--delete-webhook") as refused:
        call_command("runbot")
    assert URL in str(refused.value)
    assert fake_api.calls_of("getUpdates") == []
    assert fake_api.webhook_url == URL  # left in place
