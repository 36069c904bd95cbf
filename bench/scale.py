"""Time and queries of the catalog and a product card with growing catalogs, and of the admin's
purchase list with 100 000 purchases. Run by bench/run.py with DATABASE_URL set; prints JSON."""

import json
import statistics
import time

from bootstrap import setup_django

setup_django()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from telebot.types import Update  # noqa: E402

from botapp.bot import create_bot  # noqa: E402
from botapp.dispatch import process_update  # noqa: E402
from botapp.testing import updates  # noqa: E402
from botapp.testing.fake_bot_api import FakeBotAPI  # noqa: E402
from shop.models import Category, Product, Purchase, User  # noqa: E402
from shop.services.catalog import catalog_changed  # noqa: E402

REPEAT = 15


def measure(action) -> tuple[float, int]:
    """Median milliseconds over REPEAT runs, and the queries of one run."""
    timings = []
    for _ in range(REPEAT):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            action()
            timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings), len(queries)


def catalog_scaling(api) -> list[dict]:
    settings.TELEGRAM_API_URL, settings.TELEGRAM_BOT_TOKEN = api.url, api.token
    bot = create_bot()
    user = updates.tg_user(9001)
    rows, made = [], 0
    category = Category.objects.create(category_name="Scale")
    for size in (10, 1000, 10000):
        Product.objects.bulk_create(
            Product(category=category, name=f"P{i:06d}", price=10, hidden_content="x") for i in range(made, size)
        )
        catalog_changed()  # as an import through the shop's services does
        made = size
        product = Product.objects.filter(category=category).order_by("-id").first()
        row = {"products": size}
        for name, data in [
            ("catalog", "cats:1"),
            ("category", f"cat:{category.pk}:1"),
            ("product card", f"prod:{product.pk}:x"),
        ]:
            ms, queries = measure(lambda data=data: process_update(bot, Update.de_json(updates.callback(user, data))))
            row[name] = {"ms": round(ms, 2), "queries": queries}
        rows.append(row)
    return rows


def admin_purchase_list() -> dict:
    category = Category.objects.create(category_name="Admin bench")
    products = Product.objects.bulk_create(
        Product(category=category, name=f"A{i}", price=50, hidden_content="x") for i in range(50)
    )
    users = User.objects.bulk_create(User(telegram_id=10_000_000 + i, username=f"u{i}") for i in range(5000))
    figures = {}
    for total in (1000, 100_000):
        have = Purchase.objects.count()
        batch = [
            Purchase(
                user=users[i % len(users)],
                product=products[i % len(products)],
                price=50,
                currency="XTR",
                payment_type="stars",
                payment_id=f"adm-{i}",
            )
            for i in range(have, total)
        ]
        Purchase.objects.bulk_create(batch, batch_size=5000)
        staff = get_user_model().objects.filter(username="bench").first() or get_user_model().objects.create_superuser(
            "bench", "", "bench-password-123"
        )
        client = Client()
        client.force_login(staff)
        ms, queries = measure(lambda client=client: client.get("/admin/shop/purchase/", HTTP_HOST="127.0.0.1"))
        figures[str(total)] = {"ms": round(ms, 1), "queries": queries}
    return figures


if __name__ == "__main__":
    with FakeBotAPI() as api:
        print(json.dumps({"catalog": catalog_scaling(api), "admin_purchases": admin_purchase_list()}))
