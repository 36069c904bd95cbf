import logging
import sys

from botapp.logging import REDACTED, RedactingFormatter


def test_formatter_removes_the_token_from_messages_and_tracebacks(settings):
    settings.TELEGRAM_BOT_TOKEN = "123456:SECRET-part-of-token"
    formatter = RedactingFormatter("%(message)s")
    try:
        raise ConnectionError("GET /bot123456:SECRET-part-of-token/getMe failed")
    except ConnectionError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "url %s", ("/bot123456:SECRET-part-of-token/x",), None)
        record.exc_info = sys.exc_info()
    text = formatter.format(record)
    assert "SECRET-part-of-token" not in text
    assert text.startswith(f"url /bot{REDACTED}/x")
    assert f"ConnectionError: GET /bot{REDACTED}/getMe failed" in text


def test_formatter_also_hides_the_secret_part_alone(settings):
    settings.TELEGRAM_BOT_TOKEN = "123456:SECRET-part-of-token"
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "123456:{TOKEN} and SECRET-part-of-token", None, None)
    assert "SECRET" not in RedactingFormatter("%(message)s").format(record)


def test_libraries_that_log_requests_stay_quiet_even_at_debug(monkeypatch):
    import logging.config

    from django.conf import settings

    config = {**settings.LOGGING, "root": {**settings.LOGGING["root"], "level": "DEBUG"}}
    logging.config.dictConfig(config)
    try:
        for name in ("TeleBot", "urllib3", "urllib3.connectionpool"):
            assert not logging.getLogger(name).isEnabledFor(logging.DEBUG), name
    finally:
        logging.config.dictConfig(settings.LOGGING)
