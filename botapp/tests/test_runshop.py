"""`make run` (`manage.py runshop`) on an empty database: admin site and bot together."""

import os
import signal
import socket
import subprocess
import sys
import time

import requests
from django.conf import settings

from botapp.testing.fake_bot_api import TOKEN, FakeBotAPI
from botapp.testing.helpers import wait_until


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_shop(tmp_path, *args, **env_overrides):
    port = free_port()
    log = tmp_path / "runshop.log"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'shop.sqlite3'}",
        "TELEGRAM_BOT_TOKEN": "",
        "DJANGO_SUPERUSER_USERNAME": "",
        "DJANGO_SUPERUSER_PASSWORD": "",
        "ADMIN_IDS": "",
        **env_overrides,
    }
    process = subprocess.Popen(
        [sys.executable, str(settings.BASE_DIR / "manage.py"), "runshop", "--addrport", f"127.0.0.1:{port}", *args],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return process, f"http://127.0.0.1:{port}", log


def wait_for_page(url: str, timeout: float = 60) -> requests.Response:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return requests.get(url, timeout=5)
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def stop(process) -> int:
    # Ctrl-C in a terminal signals the whole process group
    os.killpg(process.pid, signal.SIGINT)
    try:
        return process.wait(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)


def test_shop_runs_without_a_token_and_creates_the_staff_login(tmp_path):
    process, url, log = start_shop(tmp_path, DJANGO_SUPERUSER_USERNAME="owner", DJANGO_SUPERUSER_PASSWORD="a-long-password-1")
    try:
        assert wait_for_page(f"{url}/admin/login/").status_code == 200
        session = requests.Session()
        login = session.get(f"{url}/admin/login/")
        token = session.cookies["csrftoken"]
        response = session.post(
            f"{url}/admin/login/?next=/admin/",
            data={"username": "owner", "password": "a-long-password-1", "csrfmiddlewaretoken": token},
            headers={"Referer": login.url},
        )
        assert response.status_code == 200 and "Log out" in response.text  # logged in to the admin
    finally:
        stop(process)
    output = log.read_text()
    assert "Created the staff login 'owner'." in output
    bot_lines = [line for line in output.splitlines() if line.startswith("Bot not started")]
    assert len(bot_lines) == 1 and "TELEGRAM_BOT_TOKEN" in bot_lines[0] and "@BotFather" in bot_lines[0]
    assert "ADMIN_IDS is empty: nobody gets the shop's alerts or what customers write to support." in output


def test_shop_runs_the_bot_too_when_a_token_is_set(tmp_path):
    with FakeBotAPI() as api:
        process, url, log = start_shop(tmp_path, TELEGRAM_BOT_TOKEN=api.token, TELEGRAM_API_URL=api.url, ADMIN_IDS="777")
        try:
            assert wait_for_page(f"{url}/admin/login/").status_code == 200
            api.wait_for("getUpdates", timeout=60)
        finally:
            code = stop(process)
    output = log.read_text()
    assert "createsuperuser" in output  # says how to make a staff login
    assert "Bot stopped." in output
    assert "ADMIN_IDS" not in output  # staff are set: nothing to warn about
    assert code == 0


def test_a_bot_that_cannot_start_is_tried_again_while_the_admin_keeps_running(tmp_path):
    with FakeBotAPI(token="123456:ANOTHER-bots-token") as api:  # refuses the shop's token at first
        process, url, log = start_shop(
            tmp_path, "--bot-retry-seconds", "1", TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=api.url, ADMIN_IDS="777"
        )
        try:
            wait_until(lambda: len(api.unauthorized) >= 2, timeout=60, what="the bot to be refused twice")
            assert wait_for_page(f"{url}/admin/login/").status_code == 200  # the admin is up all the while
            assert process.poll() is None

            api.token = TOKEN  # the token is good now (say, Telegram is reachable again)
            api.wait_for("getUpdates", timeout=60)
            assert requests.get(f"{url}/admin/login/", timeout=5).status_code == 200
        finally:
            code = stop(process)
    output = log.read_text()
    assert "Telegram rejected TELEGRAM_BOT_TOKEN (401 Unauthorized)" in output  # the reason, printed
    assert (
        "The bot stopped (exit code 1; the reason is above). The admin site keeps running; the bot is tried again in 1 s."
        in output
    )
    assert "Bot stopped." in output
    assert code == 0
