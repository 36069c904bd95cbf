"""Prices as customers read them, and amounts in the smallest units Telegram counts in."""

import pytest

from shop.money import format_price, from_minor_units, to_minor_units


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


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [(50, "XTR", 50), (990, "RUB", 99000), (15, "USD", 1500), (1200, "JPY", 1200), (0, "RUB", 0)],
)
def test_minor_units_round_trip(amount, currency, minor):
    assert to_minor_units(amount, currency) == minor
    assert from_minor_units(minor, currency) == (amount, 0)


@pytest.mark.parametrize(
    ("minor", "currency", "result"),
    [(99050, "RUB", (990, 50)), (99, "USD", (0, 99)), (1501, "USD", (15, 1)), (51, "XTR", (51, 0)), (1201, "JPY", (1201, 0))],
)
def test_from_minor_units_reports_the_remainder(minor, currency, result):
    assert from_minor_units(minor, currency) == result
