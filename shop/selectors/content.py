"""Reads of the texts staff write for the bot."""

from shop.models import BotText


def bot_text_get(*, key: str, language: str) -> str | None:
    """The staff-written text for `key` in `language`, falling back to English; None if none."""
    texts = {t.language: t.text for t in BotText.objects.filter(key=key, language__in=[language, "en"])}
    return texts.get(language) or texts.get("en")
