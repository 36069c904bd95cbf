"""Settings come from the environment; each case imports them in a fresh Python process."""

import json
import multiprocessing
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from market.settings import dev_secret_key

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_SOURCE = (ROOT / "market" / "settings.py").read_text()
ENV_EXAMPLE = (ROOT / ".env.example").read_text()

# Variables .env.example documents, with the values it suggests.
DOCUMENTED = dict(re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", ENV_EXAMPLE, flags=re.MULTILINE))

PRODUCTION = {"DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": "test-" + "k" * 45}

SHOW_SETTINGS = """
import json
import django
django.setup()
from django.conf import settings
from django.db import connection

shown = {name: getattr(settings, name) for name in (
    "DEBUG", "SECRET_KEY", "ADMIN_IDS", "DATABASES", "CACHES", "SHOP_CURRENCY", "TELEGRAM_API_URL", "TELEGRAM_BOT_USERNAME"
)}
if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    with connection.cursor() as cursor:
        shown["journal_mode"] = cursor.execute("PRAGMA journal_mode").fetchone()[0]
print(json.dumps(shown, default=str))
"""


def run_settings(**env: str) -> subprocess.CompletedProcess:
    """Import market.settings in a child process with exactly the given shop variables.

    Every variable .env.example documents is set explicitly (to its documented value unless
    given), so neither the parent's environment nor a local .env can fill one in:
    settings read .env without overriding variables that are already set.
    """
    child_env = {
        k: v
        for k, v in os.environ.items()
        if k not in DOCUMENTED and not k.startswith(("DJANGO_", "DATABASE", "TELEGRAM_", "PYTHON"))
    }
    child_env.update(DOCUMENTED)
    child_env.update(env)
    child_env["DJANGO_SETTINGS_MODULE"] = "market.settings"
    return subprocess.run(
        [sys.executable, "-c", SHOW_SETTINGS], cwd=ROOT, env=child_env, capture_output=True, text=True, timeout=60
    )


def settings_with(**env: str) -> dict:
    result = run_settings(**env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# "   " is what `DJANGO_SECRET_KEY=   # fill me in` in .env gives (comments are parsed, spaces kept).
@pytest.mark.parametrize("secret_key", [pytest.param("", id="empty"), pytest.param("   ", id="whitespace-only")])
def test_production_without_secret_key_refuses_to_start(secret_key):
    result = run_settings(DJANGO_DEBUG="false", DJANGO_SECRET_KEY=secret_key)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_with_secret_key_starts():
    shown = settings_with(**PRODUCTION)
    assert shown["DEBUG"] is False
    assert shown["SECRET_KEY"] == PRODUCTION["DJANGO_SECRET_KEY"]


@pytest.mark.parametrize(
    ("admin_ids", "parsed"),
    [("1, 2", [1, 2]), ("12345,67890", [12345, 67890]), ("7,", [7]), ("", [])],
)
def test_admin_ids_parse_to_numbers(admin_ids, parsed):
    assert settings_with(**PRODUCTION, ADMIN_IDS=admin_ids)["ADMIN_IDS"] == parsed


@pytest.mark.parametrize("admin_ids", ["abc", "1,@ann"])
def test_admin_ids_that_are_not_numbers_fail_clearly(admin_ids):
    result = run_settings(**PRODUCTION, ADMIN_IDS=admin_ids)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "ADMIN_IDS must be comma-separated numeric Telegram user ids" in result.stderr


def test_empty_database_url_means_sqlite_in_project_root_tuned_for_threads():
    database = settings_with(**PRODUCTION, DATABASE_URL="")["DATABASES"]["default"]
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert database["NAME"] == str(ROOT / "db.sqlite3")
    assert "journal_mode=WAL" in database["OPTIONS"]["init_command"]
    assert database["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert database["OPTIONS"]["timeout"] > 0


def test_sqlite_connections_really_use_wal(tmp_path):
    db_file = tmp_path / "shop.sqlite3"
    shown = settings_with(**PRODUCTION, DATABASE_URL=f"sqlite:///{db_file}")
    assert shown["DATABASES"]["default"]["NAME"] == str(db_file)
    assert shown["journal_mode"] == "wal"


@pytest.mark.parametrize("cache_url", ["", "locmemcache://"])
def test_without_cache_url_the_cache_is_the_process_memory(cache_url):
    cache = settings_with(**PRODUCTION, CACHE_URL=cache_url)["CACHES"]["default"]
    assert cache["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"


def test_a_redis_cache_url_gives_djangos_own_redis_cache():
    cache = settings_with(**PRODUCTION, CACHE_URL="redis://127.0.0.1:6379/2")["CACHES"]["default"]
    assert cache == {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:6379/2"}


def test_postgres_url_gets_no_sqlite_options():
    database = settings_with(**PRODUCTION, DATABASE_URL="postgres://shop:pw@db.example:5432/shop")["DATABASES"]["default"]
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["HOST"], database["PORT"], database["NAME"], database["USER"]) == ("db.example", 5432, "shop", "shop")
    assert "init_command" not in database.get("OPTIONS", {})


def test_telegram_and_shop_values_are_normalised():
    shown = settings_with(
        **PRODUCTION,
        SHOP_CURRENCY="rub",
        TELEGRAM_API_URL="http://127.0.0.1:8081/",
        TELEGRAM_BOT_USERNAME="@my_shop_bot",
    )
    assert shown["SHOP_CURRENCY"] == "RUB"
    assert shown["TELEGRAM_API_URL"] == "http://127.0.0.1:8081"
    assert shown["TELEGRAM_BOT_USERNAME"] == "my_shop_bot"


def test_env_example_values_give_a_working_setup():
    # Copying .env.example to .env is the quickstart: its values must load (debug mode).
    shown = settings_with()
    assert shown["DEBUG"] is True
    assert shown["SECRET_KEY"]
    assert shown["SHOP_CURRENCY"] == "XTR"


def test_every_environment_variable_is_documented_in_env_example():
    read = set(re.findall(r"""(?:env\.\w+|os\.environ\.get)\(\s*["']([A-Z][A-Z0-9_]*)["']""", SETTINGS_SOURCE))
    assert {"DJANGO_SECRET_KEY", "DATABASE_URL", "ADMIN_IDS", "TELEGRAM_BOT_TOKEN"} <= read  # the regex finds them
    assert sorted(read - DOCUMENTED.keys()) == []


# --- The development key file ----------------------------------------------------------------


def _key_of_a_process_starting(barrier, key_file: Path, keys) -> None:
    barrier.wait(timeout=30)
    keys.put(dev_secret_key(key_file))


def test_processes_starting_at_once_without_a_key_all_get_the_same_complete_key(tmp_path):
    # Several processes (runserver's reloader, runbot, a worker) start together on a fresh checkout.
    processes_per_round, rounds = 12, 30
    context = multiprocessing.get_context("fork")  # each child is at the barrier within milliseconds
    for round_ in range(rounds):
        key_file = tmp_path / f"round-{round_}" / ".dev-secret-key"
        key_file.parent.mkdir()
        barrier, keys = context.Barrier(processes_per_round), context.Queue()
        processes = [
            context.Process(target=_key_of_a_process_starting, args=(barrier, key_file, keys)) for _ in range(processes_per_round)
        ]
        for process in processes:
            process.start()
        for process in processes:
            process.join(timeout=60)
        assert [process.exitcode for process in processes] == [0] * processes_per_round
        got = [keys.get(timeout=5) for _ in processes]

        assert len(set(got)) == 1, f"round {round_}: {len(set(got))} different keys"
        assert len(got[0]) >= 50
        assert got[0] == key_file.read_text()
        assert sorted(path.name for path in key_file.parent.iterdir()) == [".dev-secret-key"]  # no temporary file left


def test_the_key_file_is_readable_by_its_owner_only(tmp_path):
    key_file = tmp_path / ".dev-secret-key"

    key = dev_secret_key(key_file)

    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert dev_secret_key(key_file) == key  # kept: the admin and the bot share it across restarts


def test_a_world_readable_key_from_before_is_made_private_and_kept(tmp_path):
    key_file = tmp_path / ".dev-secret-key"
    key_file.write_text("an-old-key-made-by-an-older-version")
    key_file.chmod(0o644)

    assert dev_secret_key(key_file) == "an-old-key-made-by-an-older-version"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
