"""Text as search compares it: Unicode case folded (Cyrillic too, which SQLite's LIKE and lower() are not),
Cyrillic yo read as ye, cut into words of letters and digits."""

import re
import unicodedata

from shop.models.base import storable_string
from shop.telegram_html import visible_text

QUERY_MAX_LENGTH = 100  # characters of a query kept (and echoed); the rest is cut off
MAX_WORDS = 8  # words of a query that count
_WORD = re.compile(r"[^\W_]+")


def fold(text: str) -> str:
    """`text` made comparable: compatibility-normalised, case folded, yo as ye, spaces collapsed."""
    folded = unicodedata.normalize("NFKC", text or "").casefold().replace("ё", "е")
    return " ".join(folded.split())


def product_text(*, name: str, description: str) -> str:
    """What a product is found by: its name and the visible text of its description (no HTML tags)."""
    return fold(f"{name}\n{visible_text(description or '')}")


def query_clean(text: str) -> str:
    """A customer's query as kept and echoed: storable anywhere (no NUL, no lone surrogate), one line, spaces
    collapsed, at most QUERY_MAX_LENGTH characters."""
    return " ".join(storable_string(text or "").split())[:QUERY_MAX_LENGTH].strip()


def query_words(text: str) -> list[str]:
    """The words of a query that count (letters and digits only: nothing a database could read as syntax)."""
    words = list(dict.fromkeys(_WORD.findall(fold(text))))
    return words[:MAX_WORDS]
