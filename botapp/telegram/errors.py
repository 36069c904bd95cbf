"""Reading the Bot API's error answers."""

import requests
from telebot.apihelper import ApiException, ApiTelegramException
from urllib3.exceptions import NewConnectionError


def retry_after_seconds(exc: ApiTelegramException) -> float | None:
    """The wait a 429 (flood control) answer asks for, if it says."""
    try:
        return float(exc.result_json["parameters"]["retry_after"])
    except (KeyError, TypeError, ValueError):
        return None


def is_transient(exc: Exception) -> bool:
    """The Bot API is unreachable, overloaded or slow: the same update may well work later."""
    if isinstance(exc, ApiTelegramException):
        return exc.error_code == 429 or exc.error_code >= 500
    return isinstance(exc, requests.RequestException | ApiException)


def error_text(exc: Exception) -> str:
    """What may be logged of a failed Bot API call: Telegram's answer, or only the error's kind (a requests
    error's message holds the request URL, and with it the bot's token)."""
    if isinstance(exc, ApiTelegramException):
        return f"{exc.error_code} {exc.description}"
    return type(exc).__name__


def never_reached_telegram(exc: requests.RequestException) -> bool:
    """No connection could be made, so nothing was sent."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(exc, requests.ConnectionError) and isinstance(reason, NewConnectionError)
