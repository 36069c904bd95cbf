"""The fake Bot API's HTTP: what a bot sends arrives as it was sent, connections are kept alive or
closed as HTTP/1.1 says, and what is not a Bot API call is answered as Telegram answers it."""

import socket
from urllib.parse import parse_qsl, urlencode

import pytest

from botapp.telegram.client import new_client
from botapp.testing import updates
from botapp.testing.fake_bot_api import form_fields

CHAT = 42


@pytest.mark.parametrize(
    "body",
    [
        b"a=1&b=2",
        b"text=%3Cb%3EHi%3C%2Fb%3E+%26+more&empty=&flag",
        b"t=%F0%9F%98%80+caf%C3%A9",  # UTF-8 in escapes
        b"t=caf\xc3\xa9+%21",  # UTF-8 sent raw beside an escape
        b"broken=%zz%2&end=100%",  # a % that escapes nothing is kept
        b"slash=a\\b%5Cx41",  # backslashes, raw and escaped, are text
        b"half=%E9",  # not UTF-8: replaced, as parse_qsl replaces it
        b"&&a=b&",
        b"sp%20ace=v%2Bplus",
    ],
)
def test_form_bodies_read_as_the_standard_library_reads_them(body):
    assert form_fields(body) == parse_qsl(body.decode(), keep_blank_values=True)


def test_text_full_of_escapes_arrives_as_sent(fake_api):
    text = "<b>50% off</b> for a+b & c=d, café 😀, a \\x41 and %41 that are not escapes"
    new_client().send_message(CHAT, text, parse_mode="HTML")
    assert fake_api.calls_of("sendMessage")[-1].params["text"] == text


def test_a_refused_text_is_refused_every_time(fake_api):
    client = new_client()
    for _ in range(2):  # the fake remembers its checks of a text: a refusal too
        with pytest.raises(Exception, match="Can't find end tag"):
            client.send_message(CHAT, "<b>bold", parse_mode="HTML")
    assert [call.status for call in fake_api.calls_of("sendMessage")] == [400, 400]


def raw_exchange(fake_api, *requests: bytes) -> bytes:
    """Send the requests on one connection and read until the fake closes it (or 2 s pass)."""
    host, port = fake_api.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=2) as sock:
        for request in requests:
            sock.sendall(request)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except TimeoutError:
            received += b"<still open>"
    return received


def post(
    fake_api,
    method: str,
    fields: dict | bytes,
    *,
    headers: str = "",
    version: str = "HTTP/1.1",
    token=None,
    content_type: str = "application/x-www-form-urlencoded",
) -> bytes:
    body = fields if isinstance(fields, bytes) else urlencode(fields).encode()
    return (
        f"POST /bot{token or fake_api.token}/{method} {version}\r\nHost: x\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n{headers}\r\n"
    ).encode() + body


def test_a_kept_alive_connection_carries_several_calls_until_one_asks_to_close(fake_api):
    received = raw_exchange(
        fake_api,
        post(fake_api, "sendMessage", {"chat_id": CHAT, "text": "one"}),
        post(fake_api, "sendMessage", {"chat_id": CHAT, "text": "two"}, headers="Connection: close\r\n"),
    )
    assert received.count(b"HTTP/1.1 200 OK") == 2
    assert received.endswith(b"}")  # closed by the fake after the second answer, not left open
    assert [call.params["text"] for call in fake_api.calls_of("sendMessage")] == ["one", "two"]


def test_an_http_1_0_call_is_answered_and_its_connection_closed(fake_api):
    received = raw_exchange(fake_api, post(fake_api, "getMe", {}, version="HTTP/1.0"))
    assert received.startswith(b"HTTP/1.1 200 OK") and b"Connection: close" in received
    assert not received.endswith(b"<still open>")


def test_what_is_not_a_bot_api_call_is_answered_as_telegram_answers_it(fake_api):
    assert raw_exchange(fake_api, b"GET /favicon.ico HTTP/1.1\r\nConnection: close\r\n\r\n").startswith(b"HTTP/1.1 404 Not Found")
    wrong_token = post(fake_api, "getMe", {}, token="999:other", headers="Connection: close\r\n")
    assert raw_exchange(fake_api, wrong_token).startswith(b"HTTP/1.1 401 Unauthorized")
    assert fake_api.unauthorized == ["getMe"]
    assert raw_exchange(fake_api, b"NONSENSE\r\n\r\n").startswith(b"HTTP/1.1 400 Bad Request")


def test_a_body_that_is_not_utf8_or_not_json_gets_400(fake_api):
    close = "Connection: close\r\n"
    not_utf8 = post(fake_api, "sendMessage", b"chat_id=42&text=\xff%41", headers=close)
    assert b"strings must be encoded in UTF-8" in raw_exchange(fake_api, not_utf8)
    not_json = post(fake_api, "sendMessage", b"{not json", headers=close, content_type="application/json")
    assert raw_exchange(fake_api, not_json).startswith(b"HTTP/1.1 400 Bad Request")
    assert fake_api.calls_of("sendMessage") == []  # neither reached the API


def test_an_overlong_request_line_gets_414(fake_api):
    line = f"GET /bot{fake_api.token}/getMe?x={'a' * 70_000} HTTP/1.1\r\n\r\n".encode()
    assert raw_exchange(fake_api, line).startswith(b"HTTP/1.1 414 ")


def test_an_update_numbered_below_what_the_bot_confirmed_is_refused_loudly(fake_api):
    """Telegram numbers updates as it queues them; a test (or the bench) that queues them out of order
    would otherwise lose one without a word, as the bench once did."""
    first, second = updates.message(updates.tg_user(1), "/a"), updates.message(updates.tg_user(2), "/b")
    fake_api.push(second)
    fake_api.api_getUpdates({"offset": str(second["update_id"] + 1)})  # the bot confirms up to `second`
    with pytest.raises(AssertionError, match="would never be delivered"):
        fake_api.push(first)
