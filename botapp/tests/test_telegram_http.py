"""The Bot API's HTTP sender (botapp/telegram/http.py): answers and errors as telebot and our code
expect them from requests, and certificates checked as requests checks them."""

import json
import shutil
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import pytest
import requests

from botapp.telegram.http import ApiSender
from botapp.testing.fake_bot_api import FakeBotAPI


def test_a_call_sends_its_parameters_and_reads_the_answer():
    with FakeBotAPI() as api:
        sender = ApiSender(api.url)
        answer = sender("post", f"{api.url}/bot{api.token}/sendMessage", params={"chat_id": 5, "text": "Hi", "x": None})
        assert answer.status_code == 200 and answer.json()["result"]["text"] == "Hi"
        [call] = api.calls_of("sendMessage")
        assert call.params == {"chat_id": "5", "text": "Hi"}  # None left out, as requests does


def test_the_parameters_travel_in_the_body_not_the_url():
    """A message of 4096 characters and its buttons make no URL of kilobytes (proxies cap URLs; parsing them costs)."""
    seen = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            seen["path"] = self.path
            seen["type"] = self.headers["Content-Type"]
            seen["body"] = self.rfile.read(int(self.headers["Content-Length"])).decode()
            answer = json.dumps({"ok": True, "result": True}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        text = "Ключ & <b>" * 400
        answer = ApiSender(url)("post", f"{url}/bot1:x/sendMessage", params={"chat_id": 5, "text": text}, timeout=(2, 2))
    finally:
        server.shutdown()
    assert answer.status_code == 200
    assert seen["path"] == "/bot1:x/sendMessage"
    assert seen["type"] == "application/x-www-form-urlencoded"
    assert dict(parse_qsl(seen["body"])) == {"chat_id": "5", "text": text}


def test_an_error_answer_keeps_its_status_and_body():
    with FakeBotAPI() as api:
        api.fail_next("sendMessage", 429, "Too Many Requests: retry after 3", retry_after=3)
        answer = ApiSender(api.url)("post", f"{api.url}/bot{api.token}/sendMessage", params={"chat_id": 5, "text": "Hi"})
        assert answer.status_code == 429
        assert answer.json()["parameters"] == {"retry_after": 3}


def test_nobody_listening_is_a_connection_error_that_never_reached_telegram():
    with FakeBotAPI() as api:
        url = api.url
    with pytest.raises(requests.ConnectionError) as caught:
        ApiSender(url)("post", f"{url}/bot1:secret-token/getMe", timeout=(2, 2))
    assert "NewConnectionError" in type(caught.value.args[0].reason).__name__
    assert "secret-token" not in str(caught.value)  # an error's text may be logged: never the token


def test_a_dropped_connection_and_a_slow_answer_are_requests_errors():
    with FakeBotAPI() as api:
        sender = ApiSender(api.url)
        api.drop_next("sendMessage")
        with pytest.raises(requests.ConnectionError):
            sender("post", f"{api.url}/bot{api.token}/sendMessage", params={"chat_id": 5, "text": "Hi"}, timeout=(2, 2))
        api.delay_next("sendMessage", 1.5)
        with pytest.raises(requests.ReadTimeout):
            sender("post", f"{api.url}/bot{api.token}/sendMessage", params={"chat_id": 5, "text": "Hi"}, timeout=(2, 0.5))


@pytest.fixture
def https_server(tmp_path):
    """A Bot API stand-in over HTTPS with a certificate of its own (not one any CA signed)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.dumps({"ok": True, "result": True}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{server.server_address[1]}", cert
    server.shutdown()


def test_an_unknown_certificate_is_refused_and_a_trusted_bundle_accepted(https_server, monkeypatch):
    url, cert = https_server
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    with pytest.raises(requests.exceptions.SSLError):
        ApiSender(url)("post", f"{url}/bot1:x/getMe", timeout=(2, 2))

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))  # as requests honours it
    assert ApiSender(url)("post", f"{url}/bot1:x/getMe", timeout=(2, 2)).json() == {"ok": True, "result": True}


@pytest.fixture
def closing_server():
    """A Bot API stand-in that answers as HTTP/1.1 (keep-alive) and then closes the connection anyway, as a
    server closing an idle connection does; it counts the connections it accepted."""
    accepted = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self):
            accepted.append(self.client_address)
            super().setup()

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = json.dumps({"ok": True, "result": len(accepted)}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True  # without saying so: the client learns it only from the socket

        def log_message(self, *args):
            pass

    closed = threading.Semaphore(0)

    class Server(ThreadingHTTPServer):
        def shutdown_request(self, request):
            super().shutdown_request(request)
            closed.release()  # the connection is closed now: the test's next call finds it so

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", accepted, closed
    server.shutdown()


def test_a_connection_the_server_closed_while_idle_is_replaced_not_failed(closing_server):
    url, accepted, closed = closing_server
    sender = ApiSender(url)
    answers = []
    for n in range(3):
        answers.append(sender("post", f"{url}/bot1:x/getMe", params={"n": n}, timeout=(2, 2)).json()["result"])
        assert closed.acquire(timeout=5)
    assert answers == [1, 2, 3] and len(accepted) == 3  # each call on a new connection, none of them an error


def test_each_thread_keeps_its_own_connection_alive():
    with FakeBotAPI() as api:
        sender = ApiSender(api.url)
        url = f"{api.url}/bot{api.token}/getMe"
        ports = {}

        def calls(name):
            for _ in range(3):
                assert sender("post", url, timeout=(2, 2)).status_code == 200
                (kept,) = sender.local.connections.values()  # this thread's one connection
                ports.setdefault(name, set()).add(kept.sock.getsockname()[1])

        threads = [threading.Thread(target=calls, args=(n,)) for n in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert all(len(used) == 1 for used in ports.values())  # kept alive: one connection for a thread's calls
        assert len(set().union(*ports.values())) == 3  # and not shared between threads


def test_what_is_logged_of_a_failed_call_never_holds_the_token():
    from telebot.apihelper import ApiTelegramException

    from botapp.telegram.errors import error_text

    network = requests.ConnectionError("Max retries exceeded with url: /bot123:secret-token/sendMessage")
    assert error_text(network) == "ConnectionError"
    refused = ApiTelegramException("sendMessage", None, {"error_code": 403, "description": "Forbidden: bot was blocked"})
    assert error_text(refused) == "403 Forbidden: bot was blocked"
