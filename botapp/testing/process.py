"""Running `manage.py runbot` as a real process in tests (what it sent: `botapp.testing.helpers`)."""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.db import connection

from botapp.testing.fake_bot_api import FakeBotAPI


def database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class RunBot:
    """`python manage.py runbot` in a subprocess, its output collected in a file."""

    def __init__(self, api: FakeBotAPI, tmp_path, *args: str, env: dict | None = None):
        self.log_path = tmp_path / "runbot.log"
        env = {
            **os.environ,
            "TELEGRAM_API_URL": api.url,
            "TELEGRAM_BOT_TOKEN": api.token,
            "DATABASE_URL": database_url(),
            "BOT_WORKERS": "2",
            "LOG_LEVEL": "INFO",
            **(env or {}),
        }
        self.log = open(self.log_path, "w")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [sys.executable, str(settings.BASE_DIR / "manage.py"), "runbot", *args],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        return self.log_path.read_text()

    def stop(self, sig=signal.SIGTERM, timeout: float = 10) -> tuple[int, float]:
        started = time.monotonic()
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
            self.log.close()
        return code, time.monotonic() - started
