"""Reading the Bot API's error answers."""

import requests
from telebot.apihelper import ApiException, ApiTelegramException


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
