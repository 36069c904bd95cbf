"""Callback data of the inline buttons: built here, parsed and validated here.

Any client can send any callback data, so a parsed value is only an id to look up again;
a price or a permission never comes from it.
"""

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

from telebot.types import CallbackQuery

# <= 64 bytes in total; ids are positive integers
MAX_ID = 2**63 - 1
_INT = r"[1-9][0-9]{0,18}"
_QTY = r"[0-9]{1,4}"  # checked against the product's limits by the handler (0 included: refused there)
_BACK = rf"(?:c({_INT})\.({_INT})|m({_INT})|x|f({_INT})\.({_INT}))"


@dataclass(frozen=True)
class Back:
    """Where a product card's Back button leads."""

    kind: str  # "category", "purchases", "search" (id: the kept query's key) or "catalog"
    id: int = 0
    page: int = 1

    def encode(self) -> str:
        if self.kind == "category":
            return f"c{self.id}.{self.page}"
        if self.kind == "purchases":
            return f"m{self.page}"
        if self.kind == "search":
            return f"f{self.id}.{self.page}"
        return "x"


CATALOG_BACK = Back("catalog")


def menu() -> str:
    return "menu"


def help_() -> str:
    return "help"


def catalog(page: int = 1) -> str:
    return f"cats:{page}"


def category(category_id: int, page: int = 1) -> str:
    return f"cat:{category_id}:{page}"


def product(product_id: int, back: Back = CATALOG_BACK) -> str:
    return f"prod:{product_id}:{back.encode()}"


def purchases(page: int = 1) -> str:
    return f"my:{page}"


def buy(product_id: int, quantity: int = 1) -> str:
    return f"buy:{product_id}" if quantity == 1 else f"buy:{product_id}:{quantity}"


def quantity(product_id: int, quantity: int, back: Back = CATALOG_BACK) -> str:
    """Show the card with another quantity chosen (for products sold from stock)."""
    return f"qty:{product_id}:{quantity}:{back.encode()}"


def notify(product_id: int) -> str:
    """Tell me when this sold-out product is back."""
    return f"notify:{product_id}"


def open_(product_id: int) -> str:
    return f"open:{product_id}"


def search() -> str:
    """Ask for the words to search for."""
    return "search"


def search_page(key: int, page: int = 1) -> str:
    """A page of the results of the query kept under `key` (the words stay on the server)."""
    return f"find:{key}:{page}"


def access_link(product_id: int) -> str:
    """A new invite link to the chat of a product the customer has access to."""
    return f"acc:link:{product_id}"


def access_cancel(product_id: int) -> str:
    """Cancel the renewal of the customer's subscription to a product's chat."""
    return f"acc:cancel:{product_id}"


def access_resume(product_id: int) -> str:
    return f"acc:resume:{product_id}"


def noop() -> str:
    return "noop"


def support() -> str:
    return "support"


def support_cancel() -> str:
    return "support:cancel"


def reviews(product_id: int, page: int = 1, back: Back = CATALOG_BACK) -> str:
    """A page of a product's reviews; `back`: where the card's Back leads (the list's Back shows the card)."""
    return f"revs:{product_id}:{page}:{back.encode()}"


def rate(product_id: int, back: Back = CATALOG_BACK) -> str:
    """Choose a rating for a product (its buyer)."""
    return f"rate:{product_id}:{back.encode()}"


def rate_set(product_id: int, rating: int, back: Back = CATALOG_BACK) -> str:
    return f"rate:{product_id}:{rating}:{back.encode()}"


def review_skip(product_id: int, back: Back = CATALOG_BACK) -> str:
    """No text for the review (or keep the one written before)."""
    return f"rskip:{product_id}:{back.encode()}"


def promo(product_id: int) -> str:
    """«Have a promo code?» on a product's card: the bot asks for the code."""
    return f"promo:{product_id}"


def promo_cancel(product_id: int) -> str:
    """No code after all: back to the product's card."""
    return f"promo:{product_id}:x"


def invite() -> str:
    """«Invite friends»: the customer's referral link and how many friends joined."""
    return "invite"


@dataclass(frozen=True)
class Parsed:
    action: str
    id: int = 0
    page: int = 1
    back: Back = CATALOG_BACK
    quantity: int = 1
    rating: int = 0


_PATTERNS = [
    (re.compile(r"menu"), lambda m: Parsed("menu")),
    (re.compile(r"help"), lambda m: Parsed("help")),
    (re.compile(r"noop"), lambda m: Parsed("noop")),
    (re.compile(r"support"), lambda m: Parsed("support")),
    (re.compile(r"support:cancel"), lambda m: Parsed("support_cancel")),
    (re.compile(r"invite"), lambda m: Parsed("invite")),
    (re.compile(rf"promo:({_INT})"), lambda m: Parsed("promo", id=int(m[1]))),
    (re.compile(rf"promo:({_INT}):x"), lambda m: Parsed("promo_cancel", id=int(m[1]))),
    (re.compile(r"search"), lambda m: Parsed("search")),
    (re.compile(rf"find:({_INT}):({_INT})"), lambda m: Parsed("search_page", id=int(m[1]), page=int(m[2]))),
    (re.compile(rf"cats:({_INT})"), lambda m: Parsed("catalog", page=int(m[1]))),
    (re.compile(rf"cat:({_INT}):({_INT})"), lambda m: Parsed("category", id=int(m[1]), page=int(m[2]))),
    (re.compile(rf"my:({_INT})"), lambda m: Parsed("purchases", page=int(m[1]))),
    (re.compile(rf"buy:({_INT})(?::({_QTY}))?"), lambda m: Parsed("buy", id=int(m[1]), quantity=int(m[2] or 1))),
    (re.compile(rf"notify:({_INT})"), lambda m: Parsed("notify", id=int(m[1]))),
    (re.compile(rf"open:({_INT})"), lambda m: Parsed("open", id=int(m[1]))),
    (re.compile(rf"acc:(link|cancel|resume):({_INT})"), lambda m: Parsed(f"access_{m[1]}", id=int(m[2]))),
    (
        re.compile(rf"prod:({_INT}):{_BACK}"),
        lambda m: Parsed("product", id=int(m[1]), back=_back(m)),
    ),
    (
        re.compile(rf"qty:({_INT}):({_QTY}):{_BACK}"),
        lambda m: Parsed("quantity", id=int(m[1]), quantity=int(m[2]), back=_back(m, first=3)),
    ),
    (
        re.compile(rf"revs:({_INT}):({_INT}):{_BACK}"),
        lambda m: Parsed("reviews", id=int(m[1]), page=int(m[2]), back=_back(m, first=3)),
    ),
    (re.compile(rf"rate:({_INT}):{_BACK}"), lambda m: Parsed("rate", id=int(m[1]), back=_back(m))),
    (
        re.compile(rf"rate:({_INT}):([1-5]):{_BACK}"),
        lambda m: Parsed("rate_set", id=int(m[1]), rating=int(m[2]), back=_back(m, first=3)),
    ),
    (re.compile(rf"rskip:({_INT}):{_BACK}"), lambda m: Parsed("review_skip", id=int(m[1]), back=_back(m))),
]


def _back(m: re.Match, first: int = 2) -> Back:
    """The Back of a card, from _BACK's groups (starting at group `first`)."""
    if m[first]:
        return Back("category", int(m[first]), int(m[first + 1]))
    if m[first + 2]:
        return Back("purchases", page=int(m[first + 2]))
    if m[first + 3]:
        return Back("search", int(m[first + 3]), int(m[first + 4]))
    return CATALOG_BACK


@functools.lru_cache(maxsize=4096)  # every handler's filter asks about the same press: read it once
def parse(data: str | None) -> Parsed | None:
    """The action a button stands for, or None for anything malformed or out of range (frozen: safe to share)."""
    if not data or len(data.encode()) > 64:
        return None
    for pattern, build in _PATTERNS:
        match = pattern.fullmatch(data)
        if match:
            parsed = build(match)
            if parsed.id > MAX_ID or parsed.back.id > MAX_ID:
                return None
            return parsed
    return None


def action_is(action: str) -> Callable[[CallbackQuery], bool]:
    """A handler filter: the button's data is valid and stands for `action`."""

    def matches(call: CallbackQuery) -> bool:
        parsed = parse(call.data)
        return parsed is not None and parsed.action == action

    return matches
