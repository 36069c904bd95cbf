"""A fake Telegram Bot API server on 127.0.0.1, spoken to over real HTTP.

The bot is pointed at it with TELEGRAM_API_URL. It hands out queued updates through
getUpdates (with offsets confirmed as Telegram does), answers sends with plausible
results, remembers the messages of each chat (so copyMessage and forwardMessage copy what is
really there, or are refused as Telegram refuses them), records every call, and can be told to
fail the next calls of a method. Like Telegram, it answers 400 to what Telegram refuses (broken
HTML, text over 4096 or captions over 1024 characters, button data over 64 bytes, invoices
outside their limits: botapp/testing/telegram_rules.py).
"""

import codecs
import email.policy
import itertools
import json
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from email.parser import BytesParser
from http import HTTPStatus
from http.server import ThreadingHTTPServer
from socketserver import StreamRequestHandler
from urllib.parse import parse_qsl, unquote_to_bytes, urlsplit

from botapp.testing import telegram_rules
from botapp.testing.fake_chats import ChatRefused, ChatsAndSubscriptions

_REASONS = {status.value: status.phrase for status in HTTPStatus}
MAX_LINE = 65536  # bytes of a request line or a header line (as http.server allows)
TOKEN = "123456:TEST-token"  # the fake's bot token unless given another
BOT_USER = {"id": 1, "is_bot": True, "first_name": "Shop", "username": "shop_bot"}


@dataclass
class Call:
    method: str
    params: dict
    at: float = field(default_factory=time.monotonic)
    status: int | None = None  # the HTTP status answered; None while pending or if dropped
    result: object = None  # what a successful call returned (a sent message, a MessageId...)

    def json(self, name: str):
        """A parameter telebot sent as JSON (reply_markup, prices, ...)."""
        value = self.params.get(name)
        return json.loads(value) if isinstance(value, str) else value


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A client that hung up (a killed bot, a timed-out request) is part of the tests.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@dataclass
class Upload:
    """A file the bot uploaded (multipart)."""

    filename: str
    content: bytes


@dataclass
class Delay:
    seconds: float


@dataclass
class Drop:
    pass


@dataclass
class HtmlError:
    status: int


@dataclass
class Failure:
    code: int
    description: str
    retry_after: int | None = None


class Refused(Exception):
    """A call Telegram answers with 400 and this description (it depends on what the fake has seen)."""


# What a message holds besides its envelope: what copyMessage copies. A message with none of these
# (a payment, an invoice, a member joining...) cannot be copied or forwarded.
CONTENT = ("text", "photo", "document", "video", "audio", "voice", "animation", "video_note", "sticker", "location", "venue")
CONTENT_EXTRAS = ("entities", "caption", "caption_entities", "has_media_spoiler")
MEDIA = ("photo", "document", "video", "audio", "animation")  # what editMessageMedia replaces


def _same_media(message: dict, content: dict, markup) -> bool:
    def file_of(m):
        media = next((m[key] for key in MEDIA if key in m), None)
        return (media[-1] if isinstance(media, list) else media or {}).get("file_id")

    return (
        file_of(message) == file_of(content)
        and message.get("caption", "") == content.get("caption", "")
        and message.get("reply_markup") == markup
    )


class FakeBotAPI(ChatsAndSubscriptions):
    def __init__(self, token: str = TOKEN):
        self.token = token
        self.calls: list[Call] = []
        self.unauthorized: list[str] = []  # methods called with another token (answered 401, as Telegram does)
        self.webhook_url = ""
        self.uploads: list[Upload] = []
        self.listeners: list = []  # called with every Call (benchmarks follow replies with these)
        self._updates: list[dict] = []
        self._confirmed_below = 0
        self._failures: dict[str, list[Failure]] = {}
        self._message_ids = itertools.count(5000)
        self._messages: dict[tuple[int, int], dict] = {}  # (chat id, message id): messages users and the bot sent
        self._inline_queries: set[str] = set()  # ids of inline queries sent and not answered yet
        self._cond = threading.Condition()
        self._closing = False
        self._server = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        # A short poll interval: shutdown() waits for it, and tests start and stop many fakes.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    # --- lifecycle ---
    @property
    def url(self) -> str:
        host, port = self._server.server_address
        return f"http://{host}:{port}"

    def start(self) -> "FakeBotAPI":
        self._thread.start()
        return self

    def close(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    # --- what tests do ---
    def push(self, update: dict) -> dict:
        self.note(update)
        with self._cond:
            if update["update_id"] < self._confirmed_below:
                # Telegram numbers updates as it queues them, so this cannot happen there: the bot has
                # confirmed every update below _confirmed_below, and would never be sent this one.
                raise AssertionError(
                    f"update {update['update_id']} queued after getUpdates confirmed every update below "
                    f"{self._confirmed_below}: it would never be delivered (number updates as they are queued)"
                )
            self._updates.append(update)
            self._cond.notify_all()
        return update

    def note(self, update: dict) -> None:
        """Telegram knows the messages users send: remember the update's, so the bot can copy it
        (`push` does this; tests that hand updates to the bot directly call it)."""
        if update.get("inline_query"):
            with self._cond:
                self._inline_queries.add(update["inline_query"]["id"])
        message = update.get("message") or update.get("edited_message")
        if message and message.get("chat"):
            with self._cond:
                self._messages[(message["chat"]["id"], message["message_id"])] = message

    def message(self, chat_id: int, message_id: int) -> dict | None:
        """A message in a chat, as the fake knows it (sent by a user, sent or copied by the bot)."""
        with self._cond:
            return self._messages.get((chat_id, message_id))

    def fail_next(self, method: str, code: int, description: str, *, retry_after=None, times: int = 1) -> None:
        with self._cond:
            self._failures.setdefault(method, []).extend([Failure(code, description, retry_after)] * times)

    def delay_next(self, method: str, seconds: float, *, times: int = 1) -> None:
        """Answer the next calls of `method` only after `seconds` (a slow or hanging API)."""
        with self._cond:
            self._failures.setdefault(method, []).extend([Delay(seconds)] * times)

    def html_error_next(self, method: str, status: int = 502, *, times: int = 1) -> None:
        """Answer with a proxy's HTML error page instead of the Bot API's JSON."""
        with self._cond:
            self._failures.setdefault(method, []).extend([HtmlError(status)] * times)

    def drop_next(self, method: str, *, times: int = 1) -> None:
        """Close the connection of the next calls of `method` without an answer."""
        with self._cond:
            self._failures.setdefault(method, []).extend([Drop()] * times)

    def calls_of(self, method: str) -> list[Call]:
        with self._cond:
            return [c for c in self.calls if c.method == method]

    def wait_for(self, method: str, predicate=lambda call: True, *, timeout: float = 10.0, after: int = 0) -> Call:
        """The first call of `method` (from index `after` of all calls) matching `predicate`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for call in self.calls[after:]:
                    if call.method == method and predicate(call):
                        return call
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [c.method for c in self.calls[after:]]
                    raise AssertionError(f"no {method} call within {timeout}s; saw {seen}")
                self._cond.wait(remaining)

    def mark(self) -> int:
        """An index into the calls, to wait only for calls made after now."""
        with self._cond:
            return len(self.calls)

    @property
    def pending_updates(self) -> int:
        with self._cond:
            return sum(1 for u in self._updates if u["update_id"] >= self._confirmed_below)

    # --- the API ---
    def _dispatch(self, method: str, params: dict):
        call = Call(method, params)
        for listener in self.listeners:
            listener(call)
        with self._cond:
            self.calls.append(call)
            self._cond.notify_all()
            queued = self._failures.get(method)
            fault = queued.pop(0) if queued else None
        if isinstance(fault, Drop):
            return None, None
        if isinstance(fault, HtmlError):
            call.status = fault.status
            return fault.status, "<html><body><h1>502 Bad Gateway</h1></body></html>"
        if isinstance(fault, Delay):
            time.sleep(fault.seconds)
        elif isinstance(fault, Failure):
            call.status = fault.code
            body = _error(fault.code, fault.description)
            if fault.retry_after is not None:
                body["parameters"] = {"retry_after": fault.retry_after}
            return fault.code, body
        refusal = telegram_rules.refusal(method, params)
        if refusal is not None:  # what Telegram would refuse, refused the same way
            call.status = 400
            return 400, _error(400, refusal)
        handler = getattr(self, f"api_{method}", None)
        try:
            result = handler(params) if handler else True
        except (Refused, ChatRefused) as exc:
            call.status = 400
            return 400, _error(400, str(exc))
        except (KeyError, TypeError, ValueError):  # a missing or malformed chat_id, message_id...
            call.status = 400
            return 400, _error(400, "Bad Request: chat not found")
        call.status, call.result = 200, result
        return 200, {"ok": True, "result": result}

    def api_getMe(self, params):
        return BOT_USER

    def api_getWebhookInfo(self, params):
        return {"url": self.webhook_url, "has_custom_certificate": False, "pending_update_count": 0}

    def api_deleteWebhook(self, params):
        self.webhook_url = ""
        return True

    def api_setWebhook(self, params):
        self.webhook_url = params.get("url", "")
        return True

    def api_getUpdates(self, params):
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        with self._cond:
            if offset > self._confirmed_below:  # Telegram forgets what is confirmed: so does the fake,
                self._confirmed_below = offset  # or each call would scan every update of the run
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while True:
                ready = [u for u in self._updates if u["update_id"] >= self._confirmed_below][:limit]
                remaining = deadline - time.monotonic()
                if ready or remaining <= 0 or self._closing:
                    return ready
                self._cond.wait(min(remaining, 0.5))

    def _message(self, params, **content):
        chat_id = int(params["chat_id"])
        msg = {
            "message_id": next(self._message_ids),
            "from": BOT_USER,
            "chat": {"id": chat_id, "type": "private"},
            "date": int(time.time()),
            **content,
        }
        if params.get("reply_markup"):
            msg["reply_markup"] = json.loads(params["reply_markup"])
        with self._cond:
            self._messages[(chat_id, msg["message_id"])] = msg
        return msg

    def api_sendMessage(self, params):
        return self._message(params, text=params.get("text", ""))

    def api_sendInvoice(self, params):
        invoice = {
            "title": params.get("title", ""),
            "description": params.get("description", ""),
            "start_parameter": "",
            "currency": params.get("currency", ""),
            "total_amount": sum(p["amount"] for p in json.loads(params.get("prices") or "[]")),
        }
        return self._message(params, invoice=invoice)

    def api_sendDocument(self, params):
        document = params.get("document")
        if isinstance(document, Upload):
            self.uploads.append(document)
            file_id = f"uploaded-{len(self.uploads)}-{document.filename}"
        else:
            file_id = document
        msg = self._message(params, document={"file_id": file_id, "file_unique_id": f"u-{file_id}"})
        if params.get("caption"):
            msg["caption"] = params["caption"]
        return msg

    def _send_media(self, params, kind: str):
        """sendPhoto, sendVideo, sendAudio, sendVoice, sendAnimation: the file by its id, or an upload."""
        media = params.get(kind)
        if isinstance(media, Upload):
            self.uploads.append(media)
            file_id = f"uploaded-{len(self.uploads)}-{media.filename}"
        else:
            file_id = media
        file = {"file_id": file_id, "file_unique_id": f"u-{file_id}"}
        if kind == "photo":  # Telegram answers with the photo's sizes, largest last
            msg = self._message(params, photo=[{**file, "width": 90, "height": 90}, {**file, "width": 800, "height": 800}])
        else:
            msg = self._message(
                params,
                **{kind: {**file, "duration": 1} if kind != "animation" else {**file, "duration": 1, "width": 1, "height": 1}},
            )
        if params.get("caption"):
            msg["caption"] = params["caption"]
        return msg

    def api_sendPhoto(self, params):
        return self._send_media(params, "photo")

    def api_sendVideo(self, params):
        return self._send_media(params, "video")

    def api_sendAudio(self, params):
        return self._send_media(params, "audio")

    def api_sendVoice(self, params):
        return self._send_media(params, "voice")

    def api_sendAnimation(self, params):
        return self._send_media(params, "animation")

    def _original(self, params) -> dict:
        """The message copyMessage or forwardMessage is asked to take, refused as Telegram refuses it."""
        original = self.message(int(params["from_chat_id"]), int(params["message_id"]))
        if original is None:
            raise Refused("Bad Request: message to copy not found")
        if not any(key in original for key in CONTENT):
            raise Refused("Bad Request: message can't be copied")
        return original

    def api_copyMessage(self, params):
        """A new message with the original's content (a new caption if given), without its sender; the
        result is only its MessageId."""
        original = self._original(params)
        content = {key: original[key] for key in (*CONTENT, *CONTENT_EXTRAS) if key in original}
        if "caption" in params and "text" not in content:
            content["caption"] = params["caption"]
        return {"message_id": self._message(params, **content)["message_id"]}

    def api_forwardMessage(self, params):
        original = self._original(params)
        content = {key: original[key] for key in (*CONTENT, *CONTENT_EXTRAS) if key in original}
        origin = {"type": "user", "sender_user": original.get("from"), "date": original.get("date")}
        return self._message(params, forward_origin=origin, **content)

    def api_editMessageText(self, params):
        known = self.message(int(params["chat_id"]), int(params["message_id"])) if params.get("message_id") else None
        if known is not None and "text" not in known and any(key in known for key in MEDIA):
            raise Refused("Bad Request: there is no text in the message to edit")  # a photo's text is its caption
        msg = self._message(params, text=params.get("text", ""))
        with self._cond:  # the message edited, not a new one
            del self._messages[(msg["chat"]["id"], msg["message_id"])]
            msg["message_id"] = int(params.get("message_id") or msg["message_id"])
            self._messages[(msg["chat"]["id"], msg["message_id"])] = msg
        return msg

    def api_editMessageMedia(self, params):
        """The message's media replaced (or media added to a text message, which the Bot API documents), its caption the
        new one. The file by its id or uploaded as "attach://<part>"; the same media, caption and buttons again
        is refused as "not modified", as Telegram does."""
        chat_id, message_id = int(params["chat_id"]), int(params["message_id"])
        original = self.message(chat_id, message_id)
        if original is not None and not any(key in original for key in ("text", *MEDIA)):
            raise Refused("Bad Request: message can't be edited")  # an invoice, a service message...
        media = json.loads(params["media"])
        source = media["media"]
        if source.startswith("attach://"):
            upload = params.get(source.removeprefix("attach://"))
            if not isinstance(upload, Upload):
                raise Refused("Bad Request: wrong HTTP URL specified")
            self.uploads.append(upload)
            file_id = f"uploaded-{len(self.uploads)}-{upload.filename}"
        else:
            file_id = source
        file = {"file_id": file_id, "file_unique_id": f"u-{file_id}"}
        if media["type"] == "photo":
            content = {"photo": [{**file, "width": 90, "height": 90}, {**file, "width": 800, "height": 800}]}
        else:
            content = {media["type"]: file}
        if media.get("caption"):
            content["caption"] = media["caption"]
        markup = json.loads(params["reply_markup"]) if params.get("reply_markup") else None
        if original is not None and _same_media(original, content, markup):
            raise Refused(
                "Bad Request: message is not modified: specified new message content and reply markup are exactly "
                "the same as a current content and reply markup of the message"
            )
        msg = {
            "message_id": message_id,
            "from": BOT_USER,
            "chat": {"id": chat_id, "type": "private"},
            "date": (original or {}).get("date", int(time.time())),
            "edit_date": int(time.time()),
            **content,
        }
        if markup:
            msg["reply_markup"] = markup
        with self._cond:
            self._messages[(chat_id, message_id)] = msg
        return msg

    def api_deleteMessage(self, params):
        """Bots delete messages in private chats (their own and the user's) within 48 hours."""
        key = (int(params["chat_id"]), int(params["message_id"]))
        with self._cond:
            if key not in self._messages:
                raise Refused("Bad Request: message to delete not found")
            del self._messages[key]
        return True

    def chat(self, chat_id: int) -> list[dict]:
        """The messages in a chat now (both sides), oldest first: what the user sees."""
        with self._cond:
            return [msg for (chat, _id), msg in sorted(self._messages.items()) if chat == chat_id]

    def api_answerInlineQuery(self, params):
        """Each inline query is answered once, and only one that was sent (Telegram forgets it after a few seconds)."""
        with self._cond:
            if params.get("inline_query_id") not in self._inline_queries:
                raise Refused("Bad Request: query is too old and response timeout expired or query ID is invalid")
            self._inline_queries.discard(params["inline_query_id"])
        return True

    # --- HTTP ---
    def _handler_class(self):
        api = self

        class Handler(StreamRequestHandler):
            """HTTP/1.1 with keep-alive, as Telegram's servers speak it, read and written by hand: the
            standard library's BaseHTTPRequestHandler parses headers with the email package and writes a
            response in pieces, which made the fake the costliest part of the bench's own process."""

            disable_nagle_algorithm = True  # the answer goes out at once, no 40 ms ACK wait

            def handle(self):
                while self._one_request():
                    pass

            def _one_request(self) -> bool:
                """Read one request and answer it; False when the connection is to be closed."""
                line = self.rfile.readline(MAX_LINE + 1)
                if not line:
                    return False
                if len(line) > MAX_LINE:
                    return self._refuse(414, "URI Too Long", close=True)
                try:
                    method, target, version = line.decode("latin-1").split()
                except ValueError:
                    return self._refuse(400, "Bad Request", close=True)
                headers = {}
                while True:
                    header = self.rfile.readline(MAX_LINE + 1)
                    if header in (b"\r\n", b"\n", b""):
                        break
                    if len(header) > MAX_LINE:
                        return self._refuse(431, "Request Header Fields Too Large", close=True)
                    name, _, value = header.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                connection = headers.get("connection", "").lower()
                close = connection == "close" or (version == "HTTP/1.0" and connection != "keep-alive")
                if headers.get("expect", "").lower() == "100-continue":
                    self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                length = int(headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                if method not in ("GET", "POST"):
                    return self._refuse(405, "Method Not Allowed", close=close)
                return self._handle(target, headers.get("content-type", ""), body, close=close)

            def _handle(self, target: str, ctype: str, body: bytes, *, close: bool) -> bool:
                parts = urlsplit(target)
                params = dict(parse_qsl(parts.query, keep_blank_values=True))
                try:
                    if body and ctype.startswith("application/json"):
                        params.update(json.loads(body))
                    elif body and ctype.startswith("application/x-www-form-urlencoded"):
                        params.update(form_fields(body))
                    elif body and ctype.startswith("multipart/form-data"):
                        params.update(_multipart(ctype, body))
                except UnicodeDecodeError:  # as Telegram answers text that is not UTF-8
                    return self._refuse(400, "Bad Request: strings must be encoded in UTF-8", close=close)
                except ValueError:  # a JSON body that is not JSON
                    return self._refuse(400, "Bad Request: can't parse JSON", close=close)
                segments = parts.path.strip("/").split("/")
                if len(segments) != 2 or not segments[0].startswith("bot"):
                    return self._refuse(404, "Not Found", close=close)
                token, method = segments[0][3:], segments[1]
                if token != api.token:
                    api.unauthorized.append(method)
                    return self._refuse(401, "Unauthorized", close=close)
                status, payload = api._dispatch(method, params)
                if status is None:  # a dropped connection
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return False
                self._reply(status, payload, close=close)
                return not close

            def _refuse(self, status: int, description: str, *, close: bool) -> bool:
                """Answer with the Bot API's error; whether the connection stays open (as _one_request returns)."""
                self._reply(status, _error(status, description), close=close)
                return not close

            def _reply(self, status: int, payload, *, close: bool = False) -> None:
                html = isinstance(payload, str)
                data = payload.encode() if html else json.dumps(payload).encode()
                closing = "Connection: close\r\n" if close else ""
                head = (
                    f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
                    f"Content-Type: {'text/html' if html else 'application/json'}\r\n"
                    f"Content-Length: {len(data)}\r\n{closing}\r\n"
                )
                self.wfile.write(head.encode() + data)

        return Handler


def _error(status: int, description: str) -> dict:
    """The Bot API's answer to a call it refuses."""
    return {"ok": False, "error_code": status, "description": description}


def form_fields(body: bytes) -> list[tuple[str, str]]:
    """An application/x-www-form-urlencoded body's fields, as `parse_qsl(body.decode(),
    keep_blank_values=True)` reads them, several times faster on text full of escapes (a message's
    HTML is mostly %XX): the standard library decodes escape by escape in Python, this in C."""
    body.decode()  # raw bytes that are not UTF-8 are refused, as parse_qsl(body.decode()) refuses them
    fields = []
    for pair in body.split(b"&"):
        if pair:
            name, _, value = pair.partition(b"=")
            fields.append((_unquote_plus(name), _unquote_plus(value)))
    return fields


def _unquote_plus(raw: bytes) -> str:
    raw = raw.replace(b"+", b" ")
    if b"%" not in raw:
        return raw.decode()
    try:  # %XX → \xXX, decoded by the unicode_escape codec to one character per byte, then as UTF-8
        as_bytes = codecs.decode(raw.replace(b"\\", b"\\\\").replace(b"%", b"\\x"), "unicode_escape").encode("latin-1")
    except UnicodeDecodeError:  # a % not followed by two hex digits: kept as it is, as parse_qsl keeps it
        as_bytes = unquote_to_bytes(raw)
    return as_bytes.decode("utf-8", "replace")


def _multipart(content_type: str, body: bytes) -> dict:
    message = BytesParser(policy=email.policy.HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    fields = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        filename = part.get_filename()
        fields[name] = Upload(filename, payload) if filename else payload.decode()
    return fields
