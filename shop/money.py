"""Prices: amounts are whole units of the shop's currency (Stars, roubles, ...)."""

SYMBOLS = {"RUB": "₽", "EUR": "€", "USD": "$", "UAH": "₴", "KZT": "₸", "GBP": "£"}


def format_price(amount: int, currency: str) -> str:
    """`⭐ 50` for Telegram Stars, `990 ₽` for roubles, `990 CHF` for others."""
    if currency == "XTR":
        return f"⭐ {amount}"
    return f"{amount} {SYMBOLS.get(currency, currency)}"
