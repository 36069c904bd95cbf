"""Reading the Bot API's error answers."""

from telebot.apihelper import ApiTelegramException


def retry_after_seconds(exc: ApiTelegramException) -> float | None:
    """The wait a 429 (flood control) answer asks for, if it says."""
    try:
        return float(exc.result_json["parameters"]["retry_after"])
    except (KeyError, TypeError, ValueError):
        return None
