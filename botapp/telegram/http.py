"""telebot's HTTP calls, each on its thread's own kept-alive connection (the standard library's http.client).

telebot sends through `requests`, whose per-call work (building a session request, hooks, cookie
jars, re-reading the environment for proxies and CA bundles) cost about as much as the rest of a
Bot API call; a urllib3 pool, tried next, still spent a third of a call's CPU on its own layers
(URL parsing, pool keys, retry and timeout objects). Here a call is one request on a connection the
thread keeps open, checked for a close by the server before reuse, as urllib3 does. The answer and
the errors look exactly as requests' would to telebot and to our code: a response with status_code,
reason, text and json(), and requests' exceptions (ConnectionError, ConnectTimeout, ReadTimeout,
SSLError), a failure to connect marked as such (botapp.telegram.errors.never_reached_telegram).
Uploads (multipart) and proxies go through requests as before.
"""

import functools
import http.client
import json
import os
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from urllib.parse import urlencode

import certifi
import requests
import urllib3
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError
from urllib3.util.wait import wait_for_read

from shop.trial import is_test_customer

FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


class Response:
    """What telebot reads of a requests.Response."""

    def __init__(self, status: int, reason: str | None, content: bytes):
        self.status_code = status
        self.reason = reason or ""
        self.content = content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.content)


# Answers a webhook request may carry in its own HTTP reply (Telegram makes the call), instead of a
# request of their own: the press and the checkout are answered without a round trip.
IN_REPLY = frozenset({"answerCallbackQuery", "answerPreCheckoutQuery"})


class WebhookReply:
    """The one Bot API call a webhook request's answer carries (`method` None: none)."""

    def __init__(self):
        self.method: str | None = None
        self.params: dict = {}

    def as_json(self) -> dict:
        return {"method": self.method, **self.params}


_webhook_reply: ContextVar[WebhookReply | None] = ContextVar("webhook_reply", default=None)


@contextmanager
def webhook_reply() -> Iterator[WebhookReply]:
    """While an update is handled for a webhook request: its first answer to a button press or a
    checkout is kept for the request's HTTP reply, and taken as done (Telegram does not say how a
    call in a webhook reply went, so nothing is lost by not knowing it here either)."""
    reply = WebhookReply()
    token = _webhook_reply.set(reply)
    try:
        yield reply
    finally:
        _webhook_reply.reset(token)


def _kept_for_reply(url: str, params: dict | None, files) -> bool:
    reply = _webhook_reply.get()
    if reply is None or reply.method is not None or files:
        return False
    method = url.rsplit("/", 1)[-1]
    if method not in IN_REPLY:
        return False
    reply.method, reply.params = method, {key: value for key, value in (params or {}).items() if value is not None}
    return True


# "Try the bot" (botapp/simulator.py): while it hands an update to the bot, the bot's calls on this
# thread go to its in-process stand-in, answered as Telegram would, instead of over the network.
StandIn = Callable[[str, dict, dict], Response]
_stand_in: ContextVar[StandIn | None] = ContextVar("bot_api_stand_in", default=None)


@contextmanager
def stand_in(answer: StandIn) -> Iterator[None]:
    """Within the block, `answer(method, params, files)` takes every Bot API call made on this thread."""
    token = _stand_in.set(answer)
    try:
        yield
    finally:
        _stand_in.reset(token)


def simulating() -> bool:
    """An update is being handled in "Try the bot", not for Telegram."""
    return _stand_in.get() is not None


# What the network path answers a call to a test customer (who exists only in "Try the bot").
_NO_SUCH_CHAT = b'{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}'


def _to_test_customer(params: dict | None) -> bool:
    for key in ("chat_id", "user_id"):
        try:
            if is_test_customer(int((params or {}).get(key))):
                return True
        except (TypeError, ValueError):
            pass
    return False


@functools.lru_cache(maxsize=128)
def _split(url: str) -> tuple[str, str, int | None, str]:
    """The URL's scheme, host, port and path: a method's URL is the same on every call, so read once."""
    parsed = urllib3.util.parse_url(url)
    return parsed.scheme or "http", parsed.host, parsed.port, parsed.request_uri


class ApiSender:
    def __init__(self, api_url: str):
        self.api_url = api_url
        self.proxies = requests.utils.get_environ_proxies(api_url)
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        self.verify = bundle or True
        self.ssl_context = ssl.create_default_context(cafile=bundle or certifi.where())
        self.local = threading.local()  # each thread's connections, kept alive: {(scheme, host, port): connection}

    def __call__(self, method, url, *, params=None, files=None, timeout=None, proxies=None):
        answer = _stand_in.get()
        if answer is not None:
            return answer(url.rsplit("/", 1)[-1], dict(params or {}), dict(files or {}))
        if _to_test_customer(params):  # never over the network: no real chat has such an id
            return Response(400, "Bad Request", _NO_SUCH_CHAT)
        if _kept_for_reply(url, params, files):
            return Response(200, "OK", b'{"ok":true,"result":true}')
        if files or proxies or self.proxies:
            return self._through_requests(method, url, params=params, files=files, timeout=timeout, proxies=proxies)
        # The parameters as a form body, not a query string: no URL of kilobytes to parse and percent-check
        # (the Bot API takes both).
        form = urlencode([(key, value) for key, value in (params or {}).items() if value is not None], doseq=True)
        return self._send(method.upper(), url, form.encode() if form else None, timeout)  # telebot says "post"

    def _send(self, method: str, url: str, body: bytes | None, timeout) -> Response:
        """One request on this thread's kept-alive connection to the host, errors as requests names them."""
        scheme, host, port, path = _split(url)
        connect, read = timeout if isinstance(timeout, tuple) else (timeout, timeout)
        conn = self._connection(scheme, host, port)
        if conn.sock is None or wait_for_read(conn.sock, timeout=0.0):  # none yet, or closed by the server while idle
            conn.close()
            self._connect(conn, f"{scheme}://{host}:{port or ''}", connect)  # named by its host: the URL holds the token
        try:
            conn.sock.settimeout(read)
            conn.request(method, path, body=body, headers=FORM_HEADERS if body else {})
            answer = conn.getresponse()
            data = answer.read()
        except TimeoutError as exc:
            conn.close()
            raise requests.ReadTimeout(exc) from exc
        except ssl.SSLError as exc:
            conn.close()
            raise requests.exceptions.SSLError(exc) from exc
        except (OSError, http.client.HTTPException) as exc:  # dropped mid-request, or an answer that is not HTTP
            conn.close()
            raise requests.ConnectionError(type(exc).__name__) from exc  # named only: nothing of the URL
        if answer.will_close:
            conn.close()
        return Response(answer.status, answer.reason, data)

    def _connection(self, scheme: str, host: str, port: int | None) -> http.client.HTTPConnection:
        connections = self.local.__dict__.setdefault("connections", {})
        conn = connections.get((scheme, host, port))
        if conn is None:
            if scheme == "https":
                conn = http.client.HTTPSConnection(host, port, context=self.ssl_context)
            else:
                conn = http.client.HTTPConnection(host, port)
            connections[(scheme, host, port)] = conn
        return conn

    @staticmethod
    def _connect(conn: http.client.HTTPConnection, where: str, timeout) -> None:
        """Connect (and for HTTPS, shake hands); a failure here means nothing was sent. `where`: the host, never
        the URL (its path holds the bot's token, and an error's text may be logged)."""
        conn.timeout = timeout
        try:
            conn.connect()
        except TimeoutError as exc:
            conn.close()
            raise requests.ConnectTimeout(MaxRetryError(None, where, ConnectTimeoutError(type(exc).__name__))) from exc
        except ssl.SSLError as exc:  # a certificate not trusted, say
            conn.close()
            raise requests.exceptions.SSLError(exc) from exc
        except OSError as exc:  # refused, unreachable, no such host: no connection was made
            conn.close()
            reason = NewConnectionError(None, f"{type(exc).__name__}: {exc}")
            raise requests.ConnectionError(MaxRetryError(None, where, reason)) from exc

    def _through_requests(self, method, url, **kwargs):
        session = getattr(self.local, "session", None)
        if session is None:
            session = self.local.session = requests.Session()
            session.trust_env = False  # the environment was read once, above
        proxies = kwargs.pop("proxies") or self.proxies
        return session.request(method, url, proxies=proxies, verify=self.verify, **kwargs)
