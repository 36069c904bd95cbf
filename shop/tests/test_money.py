import pytest

from shop.money import format_price


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (50, "XTR", "⭐ 50"),
        (0, "XTR", "⭐ 0"),
        (990, "RUB", "990 ₽"),
        (15, "EUR", "15 €"),
        (15, "USD", "15 $"),
        (990, "CHF", "990 CHF"),
    ],
)
def test_format_price(amount, currency, shown):
    assert format_price(amount, currency) == shown
