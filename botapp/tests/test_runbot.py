"""`manage.py runbot` as a real process against the fake Bot API, plus its refusals to start."""

import os
import signal
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from botapp.screens import PAGE_SIZE
from botapp.testing import updates
from botapp.testing.fake_bot_api import TOKEN
from botapp.testing.helpers import button_data, buttons, queue_press
from shop.models import User
from shop.testing.factories import CategoryFactory, ProductFactory, PurchaseFactory, UserFactory


@pytest.mark.django_db(transaction=True)
def test_customer_browses_the_shop_through_runbot(api, runbot):
    keys = CategoryFactory(category_name="Keys")
    CategoryFactory(category_name="Empty shelf")
    products = [
        ProductFactory(category=keys, name=f"Key {i:02d}", price=10 + i, hidden_content=f"SECRET-{i}")
        for i in range(PAGE_SIZE + 3)
    ]
    bot = runbot()
    api.wait_for("setMyCommands", timeout=20)
    ann = updates.tg_user(42, first_name="Ann", username="ann")

    # /start: the user is recorded, the main menu is shown
    api.push(updates.message(ann, "/start"))
    menu = api.wait_for("sendMessage", lambda c: "Hello, Ann" in c.params["text"])
    assert User.objects.get(telegram_id=42).username == "ann"

    # Catalog: only the category with products on sale, with its count; edited in place
    catalog = api.wait_for("editMessageText", after=queue_press(api, ann, button_data(menu, "Catalog")))
    assert catalog.params["message_id"] == "5001"
    assert [t for t, _ in buttons(catalog) if "(" in t] == [f"Keys ({len(products)})"]

    # Category, first page, then the next page
    page1 = api.wait_for("editMessageText", after=queue_press(api, ann, button_data(catalog, "Keys")))
    assert "Key 00" in [t.split(" · ")[0] for t, _ in buttons(page1)]
    page2 = api.wait_for("editMessageText", after=queue_press(api, ann, button_data(page1, "Next")))
    page2_names = [t.split(" · ")[0] for t, _ in buttons(page2) if t.startswith("Key")]
    assert page2_names == [f"Key {i:02d}" for i in range(PAGE_SIZE, PAGE_SIZE + 3)]

    # Product card: name, price in Stars, no hidden content before buying
    card = api.wait_for("editMessageText", after=queue_press(api, ann, button_data(page2, f"Key {PAGE_SIZE:02d}")))
    assert f"<b>Key {PAGE_SIZE:02d}</b>" in card.params["text"]
    assert f"⭐ {10 + PAGE_SIZE}" in card.params["text"]
    assert "SECRET" not in card.params["text"]

    # Back returns to page 2 of the category
    back = api.wait_for("editMessageText", after=queue_press(api, ann, button_data(card, "Back")))
    assert [t.split(" · ")[0] for t, _ in buttons(back) if t.startswith("Key")] == page2_names

    # My purchases: empty at first, then shows a purchase
    mark = api.mark()
    api.push(updates.message(ann, "/purchases"))
    empty = api.wait_for("sendMessage", after=mark)
    assert "not bought anything" in empty.params["text"]
    PurchaseFactory(user=UserFactory(telegram_id=42), product=products[1])
    mark = api.mark()
    api.push(updates.message(ann, "/purchases"))
    mine = api.wait_for("sendMessage", after=mark)
    assert any(t.startswith("Key 01") for t, _ in buttons(mine))

    # Every button press was answered; nothing is left unconfirmed once the bot stops
    assert len(api.calls_of("answerCallbackQuery")) == 5
    code, took = bot.stop(signal.SIGTERM)
    assert code == 0, bot.output()
    assert took < 10
    assert api.pending_updates == 0
    output = bot.output()
    assert "Bot stopped." in output
    assert "callback_query from 42" in output
    assert TOKEN.split(":")[1] not in output


@pytest.mark.django_db(transaction=True)
def test_runbot_refuses_to_fight_a_webhook_and_takes_over_when_asked(api, runbot):
    api.webhook_url = "https://shop.example.com/telegram/webhook/"
    refused = runbot()
    assert refused.process.wait(timeout=30) != 0
    assert "--delete-webhook" in refused.output()
    assert not api.calls_of("getUpdates")

    poller = runbot("--delete-webhook")
    api.wait_for("getUpdates", timeout=20)
    assert api.webhook_url == ""
    api.push(updates.message(updates.tg_user(7), "/help"))
    api.wait_for("sendMessage", lambda c: c.params["chat_id"] == "7")
    code, _ = poller.stop(signal.SIGINT)
    assert code == 0


def test_runbot_without_token_says_what_to_set(settings):
    settings.TELEGRAM_BOT_TOKEN = ""
    with pytest.raises(CommandError, match=r"TELEGRAM_BOT_TOKEN.*@BotFather"):
        call_command("runbot")


def test_runbot_with_malformed_token_says_so(settings):
    settings.TELEGRAM_BOT_TOKEN = "not-a-token"
    with pytest.raises(CommandError, match="does not look like a bot token"):
        call_command("runbot")


def test_runbot_with_token_telegram_rejects_says_so(api, settings):
    settings.TELEGRAM_API_URL = api.url
    settings.TELEGRAM_BOT_TOKEN = "999:WRONG"
    with pytest.raises(CommandError, match="rejected TELEGRAM_BOT_TOKEN"):
        call_command("runbot")


def test_runbot_exits_non_zero_from_the_shell_without_token(tmp_path):
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": ""}
    result = subprocess.run(
        [sys.executable, str(settings.BASE_DIR / "manage.py"), "runbot"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "TELEGRAM_BOT_TOKEN is not set" in result.stderr


def test_runbot_says_so_when_a_proxy_answers_instead_of_telegram(api, settings):
    settings.TELEGRAM_API_URL, settings.TELEGRAM_BOT_TOKEN = api.url, api.token
    api.html_error_next("getMe", 502)
    with pytest.raises(CommandError, match="Cannot reach the Bot API"):
        call_command("runbot")
