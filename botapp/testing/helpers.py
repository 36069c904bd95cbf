"""The bot's test support: reading what the bot sent to the fake Bot API, and playing a customer's part.

`send` is the root conftest's fixture (one update through `process_update`); `fake_api` a `FakeBotAPI`.
Model data comes from `shop.testing.factories`.
"""

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import requests
from django.conf import settings
from django.utils import translation

from botapp.polling import Poller
from botapp.testing import updates
from botapp.testing.fake_bot_api import Call, FakeBotAPI
from shop.models import Product
from shop.testing.factories import ProductFactory

WEBHOOK_URL = "/telegram/webhook/"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# what puts something into a chat
SENDS = (
    "sendMessage",
    "sendDocument",
    "sendPhoto",
    "sendVideo",
    "sendAudio",
    "sendVoice",
    "sendAnimation",
    "sendInvoice",
    "editMessageText",
    "editMessageMedia",
)
SCREENS = ("sendMessage", "editMessageText")

Send = Callable[[dict], bool]

_charge_ids = itertools.count(1)


def english(text_function, *args) -> str:
    with translation.override("en"):
        return text_function(*args)


# --- what the bot sent ---


def body(call: Call) -> str:
    """The text of a message, or the caption of a document or of a message's new media."""
    media = call.json("media") if call.method == "editMessageMedia" else None
    return call.params.get("text") or call.params.get("caption") or (media or {}).get("caption") or ""


def buttons(call: Call) -> list[tuple[str, str]]:
    """The (text, callback data) of every button under a message; it must have buttons, all with data."""
    markup = call.json("reply_markup")
    assert markup is not None, f"no buttons under {call.method}: {call.params}"
    return [(b["text"], b["callback_data"]) for row in markup["inline_keyboard"] for b in row]


def button_data(call: Call, text_part: str) -> str:
    """The callback data of the one button whose text contains `text_part`."""
    matches = [data for text, data in buttons(call) if text_part in text]
    assert len(matches) == 1, f"{text_part!r} in {buttons(call)}"
    return matches[0]


def sent_to(
    fake_api: FakeBotAPI, chat_id: int, *, after: int = 0, method: str | tuple[str, ...] = SENDS, containing: str | None = None
) -> list[Call]:
    """What the bot put into a chat since the mark `after`, in order: calls of `method` (by default messages,
    documents, invoices and edits), only those whose text or caption holds `containing` if given."""
    methods = (method,) if isinstance(method, str) else method
    return [
        c
        for c in fake_api.calls[after:]
        if c.method in methods and c.params.get("chat_id") == str(chat_id) and (containing is None or containing in body(c))
    ]


def leaks(fake_api: FakeBotAPI, secret: str, *, after: int = 0) -> list[Call]:
    """Every call since the mark `after` (any method, any parameter) that carries `secret`."""
    return [c for c in fake_api.calls[after:] if secret in repr(c.params)]


def callback_answers(calls: list[Call]) -> list[str | None]:
    """The texts of the button answers among `calls` (None: answered without a notice)."""
    return [c.params.get("text") for c in calls if c.method == "answerCallbackQuery"]


def only_screen(fake_api: FakeBotAPI, after: int = 0) -> Call:
    """The one message the bot sent or edited since the mark `after`."""
    screens = [c for c in fake_api.calls[after:] if c.method in SCREENS]
    assert len(screens) == 1, [(c.method, c.params.get("text")) for c in screens]
    return screens[0]


# --- a customer, in the test's process ---


def press(send: Send, fake_api: FakeBotAPI, user: dict, data: str, *, message_id: int = 1) -> list[Call]:
    """Press an inline button under message `message_id` of the bot; returns the calls made in answer."""
    mark = fake_api.mark()
    send(updates.callback(user, data, message_id=message_id))
    return fake_api.calls[mark:]


def press_for_screen(send: Send, fake_api: FakeBotAPI, user: dict, data: str, *, message_id: int = 777) -> Call:
    """Press a button and return the screen shown in its place, checking that the press was answered once and
    that the message pressed, and nothing else, was edited."""
    mark = fake_api.mark()
    update = updates.callback(user, data, message_id=message_id)
    send(update)
    answers = [c for c in fake_api.calls[mark:] if c.method == "answerCallbackQuery"]
    assert [a.params["callback_query_id"] for a in answers] == [update["callback_query"]["id"]]
    edit = only_screen(fake_api, mark)
    assert edit.method == "editMessageText"
    assert edit.params["message_id"] == str(message_id)
    assert edit.params["chat_id"] == str(user["id"])
    return edit


def press_under(send: Send, fake_api: FakeBotAPI, user: dict, message_id: int, data: str) -> list[Call]:
    """Press a button under a message of the bot the fake has (sent or edited by the bot): the press comes with
    that message as it is now (its text or photo), as Telegram sends it. Returns the calls made in answer."""
    update = updates.callback(user, data, message_id=message_id)
    update["callback_query"]["message"] = json.loads(json.dumps(fake_api.message(user["id"], message_id)))
    mark = fake_api.mark()
    send(update)
    return fake_api.calls[mark:]


def bot_messages(fake_api: FakeBotAPI, chat_id: int) -> list[dict]:
    """The bot's messages in a private chat now (deleted ones gone, edited ones as edited), oldest first."""
    return [message for message in fake_api.chat(chat_id) if message["from"].get("is_bot")]


def command(send: Send, fake_api: FakeBotAPI, user: dict, text: str) -> Call:
    """Send a text message; returns the one message the bot sent to the user in answer."""
    mark = fake_api.mark()
    send(updates.message(user, text))
    sent = only_screen(fake_api, mark)
    assert sent.method == "sendMessage"
    assert sent.params["chat_id"] == str(user["id"])
    return sent


def pay(send: Send, user: dict, invoice: Call, *, total_amount=None, payload=None, charge_id=None) -> dict:
    """Telegram's successful_payment for an invoice the bot sent (its amount, payload and currency unless
    told otherwise); returns the update, to send it again."""
    update = updates.successful_payment(
        user,
        invoice.params["payload"] if payload is None else payload,
        total_amount=invoice.json("prices")[0]["amount"] if total_amount is None else total_amount,
        currency=invoice.params["currency"],
        charge_id=charge_id or f"stars-charge-{next(_charge_ids)}",
    )
    send(update)
    return update


# --- Telegram calling the webhook ---

_CONFIGURED = object()


def post_update(client, update: dict | None = None, *, raw: bytes | str | None = None, secret=_CONFIGURED):
    """POST an update (or a `raw` body) to the webhook with Django's test `client`, as Telegram does: with the
    configured secret in its header, or with `secret` (None: no header at all)."""
    if secret is _CONFIGURED:
        secret = settings.TELEGRAM_WEBHOOK_SECRET
    headers = {} if secret is None else {SECRET_HEADER: secret}
    body = raw if raw is not None else json.dumps(update)
    response = client.post(WEBHOOK_URL, data=body, content_type="application/json", headers=headers)
    make_the_call_in_the_reply(response)
    return response


def make_the_call_in_the_reply(response) -> None:
    """What Telegram does with a webhook reply that names a method: it makes that call (here, to the fake
    Bot API the bot talks to, so tests see it with the bot's other calls)."""
    if response.status_code != 200 or not response.get("Content-Type", "").startswith("application/json"):
        return
    params = dict(response.json())
    method = params.pop("method")
    requests.post(f"{settings.TELEGRAM_API_URL}/bot{settings.TELEGRAM_BOT_TOKEN}/{method}", data=params, timeout=10)


# --- a customer of a bot running as its own process (`runbot`) ---


def queue_press(api: FakeBotAPI, user: dict, data: str, *, message_id: int = 5001) -> int:
    """Press a button under message `message_id`: the update waits for the bot's getUpdates. Returns the mark
    to wait for the answer from."""
    mark = api.mark()
    api.push(updates.callback(user, data, message_id=message_id))
    return mark


def wait_until(condition: Callable[[], object], *, timeout: float, what: str) -> None:
    """Wait (polling every 0.1 s) until `condition()` holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


# --- polling ---


@contextmanager
def running(poller: Poller) -> Iterator[threading.Thread]:
    """`poller` runs on a thread of its own during the block (yielded); then it must stop within 5 s."""
    thread = threading.Thread(target=poller.run, daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        stopped = poller.shutdown(grace=5)
        thread.join(timeout=5)
    assert stopped, "a batch was still running when the poller's grace period ended"
    assert not thread.is_alive(), "the poller's thread did not end"


# --- time ---


class Clock:
    """A clock that moves only when told (`advance`, or `sleep`, which notes the seconds slept in `slept`)."""

    def __init__(self, now: float = 1000.0):
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


# --- data ---


def product_with_secret(name: str, **fields) -> Product:
    """A product whose hidden content is `SECRET-of-<name>`, so a test can tell whose content went where."""
    return ProductFactory(name=name, hidden_content=f"SECRET-of-{name}", **fields)
