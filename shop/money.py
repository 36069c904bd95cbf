"""Prices: amounts are whole units of the shop's currency (Stars, roubles, ...)."""

from dataclasses import dataclass

from django.conf import settings

SYMBOLS = {"RUB": "₽", "EUR": "€", "USD": "$", "UAH": "₴", "KZT": "₸", "GBP": "£"}


def format_price(amount: int, currency: str) -> str:
    """`⭐ 50` for Telegram Stars, `990 ₽` for roubles, `990 CHF` for others."""
    if currency == "XTR":
        return f"⭐ {amount}"
    return f"{amount} {currency_symbol(currency)}"


def currency_symbol(currency: str) -> str:
    """`⭐` for Telegram Stars, `₽` for roubles, the code itself for currencies without a symbol."""
    return "⭐" if currency == "XTR" else SYMBOLS.get(currency, currency)


@dataclass(frozen=True)
class Money:
    """An amount in whole units of one currency; amounts in different currencies are never added."""

    amount: int
    currency: str

    def __str__(self) -> str:
        return format_price(self.amount, self.currency)


def shop_currency_first(currency: str) -> tuple[bool, str]:
    """Sort key: the shop's currency, then the others (from older prices) alphabetically."""
    return currency != settings.SHOP_CURRENCY, currency


# Currencies whose smallest unit is the unit itself (Telegram's currencies.json "exp": 0).
ZERO_DECIMAL = {"XTR", "JPY", "KRW", "VND", "CLP", "ISK", "UGX", "PYG", "RWF", "XAF", "XOF", "GNF", "KMF", "MGA"}


def currency_exponent(currency: str) -> int:
    return 0 if currency in ZERO_DECIMAL else 2


def to_minor_units(amount: int, currency: str) -> int:
    """What Telegram's invoices count in: 990 RUB -> 99000 (kopecks); Stars stay as they are."""
    return amount * 10 ** currency_exponent(currency)


def from_minor_units(amount: int, currency: str) -> tuple[int, int]:
    """Whole units and the remainder: 99000 RUB-kopecks -> (990, 0)."""
    return divmod(amount, 10 ** currency_exponent(currency))


def minimum_price(currency: str) -> int:
    """The least a paid price may be, in whole units: 1 ⭐, or one unit of another currency (a discount
    never makes a price smaller; only a code that takes all of it makes a product free)."""
    return 1
