"""Prices: amounts are whole units of the shop's currency (Stars, roubles, ...)."""

SYMBOLS = {"RUB": "₽", "EUR": "€", "USD": "$", "UAH": "₴", "KZT": "₸", "GBP": "£"}


def format_price(amount: int, currency: str) -> str:
    """`⭐ 50` for Telegram Stars, `990 ₽` for roubles, `990 CHF` for others."""
    if currency == "XTR":
        return f"⭐ {amount}"
    return f"{amount} {SYMBOLS.get(currency, currency)}"


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
