"""Simulated customers: each walks /start → catalog → category → product → buy → pre-checkout →
pay → My purchases, one step after the other; many customers at once."""

import http.client
import itertools
import json
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

import requests

from botapp.testing import updates

STEPS = ["start", "catalog", "category", "product", "buy", "pre_checkout", "pay", "purchases"]
REPLY_METHODS = {"sendMessage", "editMessageText", "sendInvoice", "answerPreCheckoutQuery", "sendDocument"}
STEP_TIMEOUT = 30.0
_charge_ids = itertools.count(1)


@dataclass
class Waiter:
    event: threading.Event = field(default_factory=threading.Event)
    at: float = 0.0
    params: dict = field(default_factory=dict)


class ReplyTracker:
    """Follows the fake Bot API's calls and wakes the customer a reply is for."""

    def __init__(self):
        self._lock = threading.Lock()
        self._waiting: dict[int, Waiter] = {}
        self._query_owner: dict[str, int] = {}

    def listener(self, call) -> None:
        if call.method not in REPLY_METHODS:
            return
        if call.method == "answerPreCheckoutQuery":
            user_id = self._query_owner.get(call.params.get("pre_checkout_query_id"), 0)
        else:
            user_id = int(call.params.get("chat_id") or 0)
        with self._lock:
            waiter = self._waiting.pop(user_id, None)
        if waiter is not None:
            waiter.at, waiter.params = call.at, call.params
            waiter.event.set()

    def expect(self, user_id: int, query_id: str | None = None) -> Waiter:
        waiter = Waiter()
        with self._lock:
            self._waiting[user_id] = waiter
            if query_id:
                self._query_owner[query_id] = user_id
        return waiter


class PollingTransport:
    """Updates queued at the fake Bot API for the bot's getUpdates.

    Telegram numbers updates as it queues them, so each is numbered again here, under a lock, as it is
    queued. Numbered when built, two customers could queue theirs out of order, and a getUpdates between
    the two would confirm the higher number while the lower was still to come: that update would never
    be delivered (the bench saw it as a step with no reply, about once in a few thousand runs' updates)."""

    def __init__(self, api):
        self.api = api
        self._lock = threading.Lock()

    def send(self, update: dict) -> None:
        with self._lock:
            update["update_id"] = updates.next_update_id()
            self.api.push(update)


class WebhookTransport:
    """Telegram calling the webhook: each update POSTed, and the call a reply names made against the
    Bot API (`api_url`, the fake's address, and the bot's `token`), as Telegram makes it.

    Through the standard library's http.client on a kept-alive connection per thread, not requests:
    Telegram's side costs the shop nothing, so the bench's stand-in for it should take as little of
    the machine's two CPUs as it can."""

    def __init__(self, url: str, secret: str, *, api_url: str, token: str):
        self.url, self.secret = urlsplit(url), secret
        self.api_url, self.token = urlsplit(api_url), token
        self._local = threading.local()

    def _post(self, url, path: str, body: bytes, content_type: str, **headers) -> tuple[str, bytes]:
        """POST on this thread's connection to the host; the answer's content type and body (an error status raises)."""
        connections = self._local.__dict__.setdefault("connections", {})
        conn = connections.get(url.netloc) or http.client.HTTPConnection(url.hostname, url.port, timeout=STEP_TIMEOUT)
        connections[url.netloc] = conn
        conn.request("POST", path, body=body, headers={"Content-Type": content_type, **headers})
        response = conn.getresponse()
        data = response.read()
        if response.will_close:
            conn.close()
        if response.status >= 400:
            raise requests.HTTPError(f"{response.status} from {path}")
        return response.getheader("Content-Type", ""), data

    def send(self, update: dict) -> None:
        headers = {"X-Telegram-Bot-Api-Secret-Token": self.secret}
        content_type, data = self._post(self.url, self.url.path, json.dumps(update).encode(), "application/json", **headers)
        if content_type.startswith("application/json"):
            params = json.loads(data)
            method = params.pop("method")
            path = f"/bot{self.token}/{method}"
            self._post(self.api_url, path, urlencode(params).encode(), "application/x-www-form-urlencoded")


@dataclass
class Result:
    updates: int
    seconds: float
    latencies: dict[str, list[float]]
    update_steps: dict[int, str]
    errors: int
    failed: list = field(default_factory=list)  # (update id, step) of updates never answered

    @property
    def per_second(self) -> float:
        return self.updates / self.seconds

    def percentiles(self) -> dict[str, float]:
        every = sorted(x for values in self.latencies.values() for x in values)
        cuts = statistics.quantiles(every, n=100, method="inclusive")
        return {"p50": cuts[49] * 1000, "p95": cuts[94] * 1000, "p99": cuts[98] * 1000}


def customer(user_id: int, transport, tracker: ReplyTracker, ids: dict, result: Result, lock) -> None:
    user = updates.tg_user(user_id, first_name=f"C{user_id}", username=f"c{user_id}")
    message_id = 1  # the fake edits any message
    payload = "bench"
    for step in STEPS:
        query_id = None
        if step == "start":
            update = updates.message(user, "/start")
        elif step == "catalog":
            update = updates.callback(user, "cats:1", message_id=message_id)
        elif step == "category":
            update = updates.callback(user, f"cat:{ids['category_id']}:1", message_id=message_id)
        elif step == "product":
            update = updates.callback(user, f"prod:{ids['product_id']}:c{ids['category_id']}.1", message_id=message_id)
        elif step == "buy":
            update = updates.callback(user, f"buy:{ids['product_id']}", message_id=message_id)
        elif step == "pre_checkout":
            update = updates.pre_checkout(user, payload, total_amount=50)
            query_id = update["pre_checkout_query"]["id"]
        elif step == "pay":
            update = updates.successful_payment(user, payload, total_amount=50, charge_id=f"bench-{next(_charge_ids)}")
        else:
            update = updates.message(user, "/purchases")
        waiter = tracker.expect(user_id, query_id)
        started = time.monotonic()
        try:
            transport.send(update)
        except Exception:
            with lock:
                result.errors += 1
            return
        if not waiter.event.wait(STEP_TIMEOUT):
            with lock:
                result.errors += 1
                result.failed.append((update["update_id"], step))
            return
        with lock:
            result.latencies[step].append(waiter.at - started)
            result.update_steps[update["update_id"]] = step
        if step == "buy" and waiter.params.get("payload"):
            payload = waiter.params["payload"]


def run(transport, tracker: ReplyTracker, ids: dict, *, customers: int, concurrency: int, first_user: int) -> Result:
    result = Result(0, 0.0, {step: [] for step in STEPS}, {}, 0)
    lock = threading.Lock()
    started = time.monotonic()
    with ThreadPoolExecutor(concurrency) as pool:
        for user_id in range(first_user, first_user + customers):
            pool.submit(customer, user_id, transport, tracker, ids, result, lock)
    result.seconds = time.monotonic() - started
    result.updates = sum(len(v) for v in result.latencies.values())
    return result
