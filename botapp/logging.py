"""Logging that never writes the bot token, whatever a library puts in a message or traceback."""

import logging

REDACTED = "<TELEGRAM_BOT_TOKEN>"


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def redact(text: str) -> str:
    from django.conf import settings

    token = getattr(settings, "TELEGRAM_BOT_TOKEN", "") if settings.configured else ""
    if token:
        text = text.replace(token, REDACTED)
        # telebot's own masking, and URL-encoded forms, keep the secret part after the colon
        secret = token.partition(":")[2]
        if len(secret) >= 8:
            text = text.replace(secret, REDACTED)
    return text
