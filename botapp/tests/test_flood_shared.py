"""Flood control shared through Redis (Django's Redis cache): every process and host of the shop
counts a user's updates together, with the same decisions as the in-process gate."""

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from django.core.cache import caches
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from botapp import flood
from botapp.testing import updates
from botapp.testing.fake_bot_api import TOKEN, FakeBotAPI
from botapp.testing.helpers import Clock

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
SECRET = "webhook-secret"


def redis_reachable() -> bool:
    try:
        import redis

        return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception:
        return False


pytestmark = pytest.mark.skipif(
    not redis_reachable(), reason=f"Redis is not running at {REDIS_URL} (apt-get install redis-server; .ci/run starts it)"
)


def redis_cache_settings() -> dict:
    """Django's own Redis cache, with a prefix of its own so that no test sees another's buckets."""
    return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": uuid.uuid4().hex}


@pytest.fixture
def redis_cache(settings):
    settings.CACHES = {"default": redis_cache_settings()}  # Django's test signals rebuild the cache handler
    yield caches["default"]
    caches["default"].clear()


def shared_gate(rate, burst, clock=None) -> flood.SharedFloodGate:
    return flood.SharedFloodGate(rate, burst, caches["default"], clock=clock)


@pytest.fixture
def clock():
    return Clock(now=1_700_000_000.0)  # given to the shared gate, which reads no other clock


def test_the_gate_follows_the_cache(redis_cache, settings):
    settings.FLOOD_RATE, settings.FLOOD_BURST = 3, 10
    assert isinstance(flood.flood_gate(), flood.SharedFloodGate)


def test_a_burst_then_the_rate_then_one_warning(redis_cache, clock):
    gate = shared_gate(rate=3, burst=10, clock=clock)
    assert [gate.allow(1) for _ in range(10)] == [(True, False)] * 10
    assert gate.allow(1) == (False, True)
    assert gate.allow(1) == (False, False)
    clock.advance(0.34)  # a token back at 3 a second
    assert gate.allow(1)[0] is True
    assert gate.allow(2) == (True, False)  # users apart
    clock.advance(10.1)
    assert [gate.allow(1)[0] for _ in range(10)] == [True] * 10  # refilled to the burst, never more
    assert gate.allow(1) == (False, True)  # warned again after ten seconds


def test_on_the_redis_servers_clock_a_burst_then_a_refill(redis_cache):
    gate = shared_gate(rate=20, burst=3)  # no clock given: Redis's TIME, the same for every host
    assert [gate.allow(9)[0] for _ in range(4)] == [True, True, True, False]
    time.sleep(0.06)  # at 20 a second, one token back
    assert gate.allow(9)[0] is True


def test_a_cache_that_cannot_be_reached_lets_updates_through(settings):
    settings.CACHES = {"default": {**redis_cache_settings(), "LOCATION": "redis://127.0.0.1:1/0"}}
    gate = shared_gate(rate=1, burst=1)
    assert [gate.allow(1) for _ in range(3)] == [(True, False)] * 3


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rate=st.sampled_from([0.5, 1, 3, 10]),
    burst=st.integers(1, 15),
    events=st.lists(st.tuples(st.floats(0, 2, allow_nan=False), st.integers(1, 3)), max_size=80),
)
def test_the_shared_gate_decides_exactly_as_the_local_one(redis_cache, monkeypatch, rate, burst, events):
    clock = Clock(now=1_700_000_000.0)
    monkeypatch.setattr(flood, "time", SimpleNamespace(monotonic=clock))
    redis_cache.clear()
    local, shared = flood.FloodGate(rate=rate, burst=burst), shared_gate(rate, burst, clock)
    for gap, user_id in events:
        clock.advance(gap)
        assert shared.allow(user_id) == local.allow(user_id)


# --- two webhook processes, one budget ---


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_two_webhook_processes_share_one_users_budget(tmp_path):
    """Each gunicorn process alone would let BURST of Ann's updates through; together they let BURST through."""
    burst = 4
    with FakeBotAPI(TOKEN) as api:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "TELEGRAM_", "FLOOD_"))},
            "DJANGO_SETTINGS_MODULE": "market.settings",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'shop.sqlite3'}",
            "CACHE_URL": f"{REDIS_URL}?key_prefix={uuid.uuid4().hex}",
            "TELEGRAM_API_URL": api.url,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_WEBHOOK_SECRET": SECRET,
            "FLOOD_RATE": "0.001",
            "FLOOD_BURST": str(burst),
        }
        subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True, timeout=120)
        ports = [free_port(), free_port()]
        logs = [open(tmp_path / f"gunicorn-{port}.log", "w") for port in ports]  # noqa: SIM115
        servers = [
            subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "market.wsgi", "-w", "1", "-b", f"127.0.0.1:{port}"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            for port, log in zip(ports, logs, strict=True)
        ]
        try:
            for port in ports:
                wait_until_serving(port)
            ann = updates.tg_user(42, first_name="Ann")
            statuses = []
            for i in range(3 * burst):  # alternately to each process
                update = updates.message(ann, "/help", update_id=5000 + i)
                response = requests.post(
                    f"http://127.0.0.1:{ports[i % 2]}/telegram/webhook/",
                    data=json.dumps(update),
                    headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET},
                    timeout=30,
                )
                statuses.append(response.status_code)
        finally:
            for server in servers:
                server.terminate()
                server.wait(timeout=30)
            for log in logs:
                log.close()
        assert statuses == [200] * (3 * burst)
        helped = [c for c in api.calls_of("sendMessage") if "Help" in c.params.get("text", "")]
        assert len(helped) == burst, [p.read_text() for p in tmp_path.glob("*.log")]


def wait_until_serving(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/admin/login/", timeout=2)
            return
        except requests.ConnectionError:
            time.sleep(0.2)
    raise AssertionError(f"gunicorn on port {port} did not answer")
