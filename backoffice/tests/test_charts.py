"""The 30-day chart on the admin's front page: a bar per day per currency, purchases as a line."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from shop.testing.factories import PurchaseFactory

pytestmark = pytest.mark.django_db

INDEX = reverse("admin:index")


def svg(text: str) -> str:
    return re.search(r"<svg class=\"shop-chart\".*?</svg>", text, re.S).group(0)


def test_chart_has_a_bar_per_day_per_currency_and_a_point_per_day(admin_client, product):
    PurchaseFactory(product=product)
    PurchaseFactory(product=product, in_roubles=True)
    PurchaseFactory(product=product, created_at=timezone.now() - datetime.timedelta(days=12))

    chart = svg(admin_client.get(INDEX).text)

    assert chart.count('class="chart-bar series-0"') == 30  # Stars
    assert chart.count('class="chart-bar series-1"') == 30  # roubles, on their own scale
    assert chart.count('class="chart-point"') == 30
    assert chart.count("<polyline") == 1
    assert "Revenue, ⭐" in chart
    assert "Revenue, ₽" in chart
    assert "Purchases" in chart
    today = timezone.localdate()
    assert f"{today.day} {today:%b}" in chart  # date labels on the x axis


def test_chart_bars_are_to_scale_and_empty_days_are_zero(admin_client, product):
    PurchaseFactory(product=product)  # ⭐ 50 today
    PurchaseFactory(product=product, created_at=timezone.now() - datetime.timedelta(days=1))
    PurchaseFactory(product=product, created_at=timezone.now() - datetime.timedelta(days=1))  # ⭐ 100 yesterday

    chart = svg(admin_client.get(INDEX).text)

    heights = [float(h) for h in re.findall(r'class="chart-bar series-0"[^>]*height="([\d.]+)"', chart)]
    assert len(heights) == 30
    assert heights[-1] * 2 == pytest.approx(heights[-2], abs=0.2)
    assert heights[:-2] == [0.0] * 28
    assert "⭐ 100</title>" in chart
    assert "⭐ 0</title>" in chart
    assert re.search(r'<text class="chart-label"[^>]*>100</text>', chart)  # y axis reaches the top bar
