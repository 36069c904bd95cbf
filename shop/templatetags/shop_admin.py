"""Template helpers for the shop's admin pages: prices and the dashboard chart."""

from django import template

from shop import charts
from shop.money import currency_symbol, format_price

register = template.Library()
register.filter("currency_symbol", currency_symbol)


@register.filter
def price(amount: int, currency: str) -> str:
    """`{{ amount|price:currency }}`: `⭐ 50`, `990 ₽`, as the bot writes prices."""
    return format_price(amount, currency)


@register.simple_tag
def daily_chart(days, currencies):
    """The dashboard's chart of revenue and purchases per day, as inline SVG."""
    return charts.daily_chart(days, currencies)
