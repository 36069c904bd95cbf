"""Production mode (DJANGO_DEBUG=false) in real processes: deploy checks, static files, gunicorn.

Every command runs as `python manage.py ...` (or gunicorn) in a child process with a production
environment and its own SQLite file, so nothing here touches the repository or the test database.

STATIC_ROOT is fixed to BASE_DIR/staticfiles (no environment variable moves it), so the static
and gunicorn tests use a one-line settings module in tmp_path that imports market.settings and
points STATIC_ROOT into tmp_path; everything else is the production configuration as shipped.
"""

import json
import os
import secrets
import signal
import socket
import sqlite3
import string
import subprocess
import sys
import time

import pytest
import requests
from django.conf import settings

from botapp.testing import updates
from botapp.testing.fake_bot_api import FakeBotAPI

ROOT = settings.BASE_DIR
HOST = "shop.example.com"
SECRET = "s3cret-webhook-token"
TOKEN = "123456:DEPLOY-token"
COMMAND_TIMEOUT = 120


def random_secret_key(alphabet: str = string.ascii_letters + string.digits + "-_", length: int = 50) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


@pytest.fixture
def prod_env(tmp_path) -> dict:
    """The environment of a production deployment, on a fresh SQLite file."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "market.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": random_secret_key(),
        "DJANGO_ALLOWED_HOSTS": HOST,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        "LOG_LEVEL": "INFO",
    }
    for name in ("DJANGO_SECURE_SSL_REDIRECT", "TELEGRAM_WEBHOOK_SECRET", "TELEGRAM_BOT_TOKEN", "TELEGRAM_API_URL"):
        env.pop(name, None)
    return env


@pytest.fixture
def static_env(prod_env, tmp_path) -> dict:
    """prod_env with STATIC_ROOT in tmp_path (through a settings module that only changes that)."""
    static_root = tmp_path / "static_root"
    module_dir = tmp_path / "settings_module"
    module_dir.mkdir()
    (module_dir / "deploy_test_settings.py").write_text(
        f"from market.settings import *  # noqa: F403\n\nSTATIC_ROOT = {str(static_root)!r}\n"
    )
    python_path = [str(module_dir), str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {
        **prod_env,
        "DJANGO_SETTINGS_MODULE": "deploy_test_settings",
        "PYTHONPATH": os.pathsep.join(python_path),
        "STATIC_ROOT_FOR_TEST": str(static_root),
    }


def manage(*args: str, env: dict, timeout: float = COMMAND_TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def collectstatic(env: dict) -> None:
    repo_static = ROOT / "staticfiles"
    existed = repo_static.exists()
    ok(manage("collectstatic", "--noinput", "-v", "0", env=env))
    if not existed:
        assert not repo_static.exists(), "collectstatic wrote into the repository"


# --- checks and settings ---


def test_check_deploy_passes_at_warning_level(prod_env):
    result = ok(manage("check", "--deploy", "--fail-level", "WARNING", env=prod_env))
    assert "no issues" in result.stdout


def test_check_deploy_fails_at_warning_level_when_https_redirect_is_off(prod_env):
    # the fail level really bites: the one switch production may turn off is reported
    result = manage("check", "--deploy", "--fail-level", "WARNING", env={**prod_env, "DJANGO_SECURE_SSL_REDIRECT": "false"})
    assert result.returncode != 0
    assert "security.W008" in result.stderr


def test_production_refuses_to_start_without_a_secret_key(prod_env):
    result = manage("check", env={**prod_env, "DJANGO_SECRET_KEY": ""})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_a_secret_key_from_djangos_generator_starting_with_dollar_is_used_as_given(prod_env):
    # django.core.management.utils.get_random_secret_key() draws from this alphabet, `$` included,
    # so about one key in fifty starts with it; django-environ reads "$NAME" as "the value of NAME".
    alphabet = string.ascii_lowercase + string.digits + "!@#$%^&*(-_=+)"
    key = "$" + random_secret_key(alphabet, 49)
    result = manage(
        "shell",
        "-c",
        "import os; from django.conf import settings; print(settings.SECRET_KEY == os.environ['DJANGO_SECRET_KEY'])",
        env={**prod_env, "DJANGO_SECRET_KEY": key},
    )
    assert result.returncode == 0, result.stderr.strip().splitlines()[-1]
    assert result.stdout.strip().splitlines()[-1] == "True"


# --- static files through the WSGI application ---

SERVE_THROUGH_WSGI = r"""
import json, sys
from wsgiref.util import setup_testing_defaults
from market.wsgi import application

def get(path, **headers):
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "HTTP_HOST": "shop.example.com"}
    environ.update({"HTTP_" + k.upper(): v for k, v in headers.items()})
    setup_testing_defaults(environ)
    started = []
    body = b"".join(application(environ, lambda status, hdrs, exc_info=None: started.append((status, hdrs))))
    status, hdrs = started[0]
    return {"status": int(status.split()[0]), "headers": {k.lower(): v for k, v in hdrs}, "body": body.decode("latin-1")}

print(json.dumps([get(path, **headers) for path, headers in json.loads(sys.argv[1])]))
"""


def wsgi_get(env: dict, *requests_: tuple[str, dict]) -> list[dict]:
    result = ok(
        subprocess.run(
            [sys.executable, "-c", SERVE_THROUGH_WSGI, json.dumps(requests_)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
        )
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_collected_static_files_are_served_by_the_wsgi_app_with_debug_off(static_env, tmp_path):
    collectstatic(static_env)
    static_root = tmp_path / "static_root"
    assert (static_root / "admin" / "css" / "base.css").is_file()
    manifest = json.loads((static_root / "staticfiles.json").read_text())["paths"]
    hashed = manifest["admin/css/base.css"]
    assert hashed != "admin/css/base.css"

    https = {"x_forwarded_proto": "https"}
    plain, versioned, gzipped, login, insecure = wsgi_get(
        static_env,
        ("/static/admin/css/base.css", https),
        (f"/static/{hashed}", https),
        ("/static/admin/css/base.css", {**https, "accept_encoding": "gzip"}),
        ("/admin/login/", https),
        ("/admin/login/", {}),
    )
    assert plain["status"] == 200
    assert plain["headers"]["content-type"].startswith("text/css")
    assert "DJANGO Admin styles" in plain["body"]
    assert versioned["status"] == 200
    assert "immutable" in versioned["headers"]["cache-control"]  # hashed names are cached for good
    assert gzipped["status"] == 200
    assert gzipped["headers"].get("content-encoding") == "gzip"
    # the admin page links the hashed file, and http is sent to https unless the proxy says https
    assert login["status"] == 200
    assert f"/static/{hashed}" in login["body"]
    assert insecure["status"] == 301
    assert insecure["headers"]["location"] == f"https://{HOST}/admin/login/"


# --- gunicorn ---


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_serving(process: subprocess.Popen, url: str, log_path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"gunicorn exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            requests.get(url, headers={"Host": HOST}, timeout=5, allow_redirects=False)
            return
        except requests.ConnectionError:
            time.sleep(0.2)
    raise AssertionError(f"gunicorn did not answer within {timeout}s:\n{log_path.read_text()}")


def test_gunicorn_serves_the_admin_and_the_webhook_and_stops_on_sigterm(static_env, tmp_path):
    collectstatic(static_env)
    ok(manage("migrate", "--noinput", "-v", "0", env=static_env))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "gunicorn.log"
    with FakeBotAPI(TOKEN) as api, open(log_path, "w") as log:
        env = {
            **static_env,
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "TELEGRAM_API_URL": api.url,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_WEBHOOK_SECRET": SECRET,
        }
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "market.wsgi",
                "--workers",
                "2",
                "--bind",
                f"127.0.0.1:{port}",
                "--timeout",
                "30",
                "--graceful-timeout",
                "10",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_serving(process, f"{base}/admin/login/", log_path)

            login = requests.get(f"{base}/admin/login/", headers={"Host": HOST}, timeout=10)
            assert login.status_code == 200, log_path.read_text()
            assert "csrfmiddlewaretoken" in login.text
            assert requests.get(f"{base}/admin/login/", headers={"Host": "evil.example.com"}, timeout=10).status_code == 400

            ann = updates.tg_user(42, first_name="Ann", username="ann")
            update = updates.message(ann, "/start")
            headers = {"Host": HOST, "X-Telegram-Bot-Api-Secret-Token": SECRET}
            url = f"{base}/telegram/webhook/"
            assert (
                requests.post(
                    url, json=update, headers={**headers, "X-Telegram-Bot-Api-Secret-Token": "x"}, timeout=10
                ).status_code
                == 403
            )
            assert api.calls == []
            response = requests.post(url, json=update, headers=headers, timeout=30)
            assert response.status_code == 200, log_path.read_text()
            # handled before the answer: the reply is already at the fake Bot API
            replies = [c for c in api.calls_of("sendMessage") if c.params.get("chat_id") == "42"]
            assert len(replies) == 1
            assert "Hello, Ann" in replies[0].params["text"]
            # Telegram retries (a second worker may take it): answered, not handled again
            assert requests.post(url, json=update, headers=headers, timeout=30).status_code == 200
            assert len(api.calls_of("sendMessage")) == 1
            assert requests.get(url, headers=headers, timeout=10).status_code == 405

            with sqlite3.connect(tmp_path / "prod.sqlite3", timeout=10) as db:
                assert db.execute("SELECT username FROM shop_user WHERE telegram_id = 42").fetchall() == [("ann",)]
                handled = db.execute("SELECT update_id FROM botapp_handledupdate").fetchall()
                assert handled == [(update["update_id"],)]
            db.close()

            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0, log_path.read_text()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
    output = log_path.read_text()
    assert "Booting worker" in output
    assert "Shutting down" in output or "Handling signal: term" in output
