"""Template helpers for the shop's admin pages: prices, the dashboard chart, the date drill-down."""

import datetime

from django import template
from django.db.models import Max, Min
from django.utils import formats, timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from backoffice import charts
from backoffice.display import purchase_status
from shop.money import currency_symbol, format_price

register = template.Library()
register.filter("currency_symbol", currency_symbol)
register.filter("purchase_status", purchase_status)


@register.filter
def price(amount: int, currency: str) -> str:
    """`{{ amount|price:currency }}`: `⭐ 50`, `990 ₽`, as the bot writes prices."""
    return format_price(amount, currency)


@register.simple_tag
def daily_chart(days, currencies):
    """The dashboard's chart of revenue and purchases per day, as inline SVG."""
    return charts.daily_chart(days, currencies)


@register.inclusion_tag("admin/date_hierarchy.html")
def date_hierarchy_from_range(cl):
    """Django's date drill-down without its DISTINCT scan of the whole table.

    Django lists the years, months or days that have rows with a DISTINCT over every row
    (470 ms for 100 000 purchases on SQLite). Here one MIN/MAX query, answered from the index,
    bounds the range and every year, month or day inside it is offered.
    """
    field = cl.date_hierarchy
    year, month, day = (cl.params.get(f"{field}__{part}") for part in ("year", "month", "day"))

    def link(filters):
        return cl.get_query_string(filters, [f"{field}__"])

    def bounds():
        found = cl.queryset.aggregate(first=Min(field), last=Max(field))
        if not found["first"]:
            return None, None
        return timezone.localtime(found["first"]).date(), timezone.localtime(found["last"]).date()

    if year and month and day:
        chosen = datetime.date(int(year), int(month), int(day))
        return {
            "show": True,
            "back": {
                "link": link({f"{field}__year": year, f"{field}__month": month}),
                "title": capfirst(formats.date_format(chosen, "YEAR_MONTH_FORMAT")),
            },
            "choices": [{"title": capfirst(formats.date_format(chosen, "MONTH_DAY_FORMAT"))}],
        }
    first, last = bounds()
    if first is None:
        return {"show": False}
    if not year and first.year == last.year:
        year = first.year
        if first.month == last.month:
            month = first.month
    if year and month:
        days = [datetime.date(int(year), int(month), d) for d in range(first.day, last.day + 1)]
        return {
            "show": True,
            "back": {"link": link({f"{field}__year": year}), "title": str(year)},
            "choices": [
                {
                    "link": link({f"{field}__year": year, f"{field}__month": month, f"{field}__day": d.day}),
                    "title": capfirst(formats.date_format(d, "MONTH_DAY_FORMAT")),
                }
                for d in days
            ],
        }
    if year:
        months = [datetime.date(int(year), m, 1) for m in range(first.month, last.month + 1)]
        return {
            "show": True,
            "back": {"link": link({}), "title": _("All dates")},
            "choices": [
                {
                    "link": link({f"{field}__year": year, f"{field}__month": m.month}),
                    "title": capfirst(formats.date_format(m, "YEAR_MONTH_FORMAT")),
                }
                for m in months
            ],
        }
    return {
        "show": True,
        "back": None,
        "choices": [{"link": link({f"{field}__year": str(y)}), "title": str(y)} for y in range(first.year, last.year + 1)],
    }
