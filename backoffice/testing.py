"""Test support for the staff interface: admin URLs, forms posted as a browser would, query counts,
staff with chosen permissions, and rows in bulk for the tests that count queries.

Single objects come from the shop's factories (`shop.testing.factories`).
"""

import datetime
import itertools
import re
import shutil
from pathlib import Path

import pytest
from django import forms
from django.conf import settings
from django.contrib.auth.models import Permission
from django.contrib.auth.models import User as StaffUser
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from shop.models import BotText, Category, Product, Purchase, User

QUERY_BUDGET = 10  # session, user, the page's own rows, filters and counts

_bulk_batches = itertools.count(1)


def url(name: str, *args) -> str:
    """An admin page of the shop's models: `url("product_change", product.pk)`."""
    return reverse(f"admin:shop_{name}", args=args)


def count_queries(client, page: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(page)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def result_pks(response) -> set[int]:
    """The rows a changelist shows."""
    return {obj.pk for obj in response.context["cl"].result_list}


def table_rows(html: str, after: str) -> list[str]:
    """The text of each body row of the first table after `after` on the page, as a person reads it."""
    table = html[html.index(after) :]
    table = table[: table.index("</table>")]
    body = table[table.index("<tbody") :]
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in re.findall(r"<tr.*?</tr>", body, flags=re.S)]


def messages_of(response) -> list[tuple[str, str]]:
    return [(m.level_tag, m.message) for m in response.context["messages"]]


def delivery_tasks() -> list[dict]:
    """The background tasks queued so far, oldest first, as their arguments."""
    return [task.args_kwargs for task in DBTaskResult.objects.order_by("enqueued_at")]


def staff_client(username: str, *codenames: str) -> Client:
    """A client logged in as staff holding only the given permissions of the shop's models."""
    staff = StaffUser.objects.create_user(username, password="pw", is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(content_type__app_label="shop", codename__in=codenames))
    client = Client()
    client.force_login(staff)
    return client


# --- Posting forms as a browser would ---------------------------------------------------------


def _form_values(form, data: dict) -> None:
    for name, field in form.fields.items():
        key = form.add_prefix(name)
        value = form[name].value()
        if isinstance(field, forms.FileField):
            continue  # a browser posts a file input only when a file is chosen
        if isinstance(field, forms.BooleanField):
            if value:
                data[key] = "on"
        else:
            data[key] = "" if value is None else value


def change_form_data(response) -> dict:
    """What the rendered change form would post unchanged: the main form and every inline formset."""
    data = {}
    _form_values(response.context["adminform"].form, data)
    for inline in response.context["inline_admin_formsets"]:
        _form_values(inline.formset.management_form, data)
        for form in inline.formset.forms:
            _form_values(form, data)
    return data


def changelist_form_data(response) -> dict:
    """What the changelist's list_editable form would post unchanged."""
    formset = response.context["cl"].formset
    data = {"_save": "Save"}
    _form_values(formset.management_form, data)
    for form in formset.forms:
        _form_values(form, data)
    return data


# --- Rows in bulk (one INSERT per model), for the tests that count queries -----------------------


def bulk_purchases(count: int, *, user: User | None = None, product: Product | None = None) -> None:
    """`count` purchases, each by a new customer of a new product unless one is given."""
    n0 = next(_bulk_batches) * 1000
    if product is None:
        categories = Category.objects.bulk_create([Category(category_name=f"Bulk {n0 + i}") for i in range(count)])
        products = Product.objects.bulk_create(
            [Product(category=c, name=f"Bulk product {n0 + i}", price=5, hidden_content="K") for i, c in enumerate(categories)]
        )
    else:
        products = [product] * count
    if user is None:
        users = User.objects.bulk_create(
            [User(telegram_id=n0 + i, username=f"bulk{n0 + i}", first_name="Bulk") for i in range(count)]
        )
    else:
        users = [user] * count
    Purchase.objects.bulk_create(
        [
            Purchase(user=u, product=p, price=5, currency="XTR", payment_type="stars", payment_id=f"bulk-{n0 + i}")
            for i, (u, p) in enumerate(zip(users, products, strict=True))
        ]
    )


def bulk_bot_texts(count: int) -> None:
    existing = set(BotText.objects.values_list("key", "language"))
    missing = [(key, language) for key in BotText.Key.values for language in ("en", "ru") if (key, language) not in existing]
    BotText.objects.bulk_create([BotText(key=k, language=lang, text="Hello") for k, lang in missing[:count]])


def bulk_products(count: int, category: Category) -> None:
    n0 = next(_bulk_batches) * 1000
    Product.objects.bulk_create(
        [Product(category=category, name=f"Inline {n0 + i}", price=7, hidden_content="K") for i in range(count)]
    )


def bulk_sales(count: int, category: Category) -> None:
    """`count` purchases of new products by new customers over the last 35 days: a third in roubles,
    every seventh refunded."""
    products = Product.objects.bulk_create(
        [Product(category=category, name=f"Filled {i}", price=10, hidden_content="K") for i in range(count)]
    )
    start = User.objects.count() * 10 + 5000
    users = User.objects.bulk_create([User(telegram_id=start + i, username=f"fill{start + i}") for i in range(count)])
    now = timezone.now()
    purchases = Purchase.objects.bulk_create(
        [
            Purchase(
                user=u,
                product=p,
                price=10 if i % 3 else 990,
                currency="XTR" if i % 3 else "RUB",
                payment_type="stars" if i % 3 else "provider",
                payment_id=f"fill-{start + i}",
                status="refunded" if i % 7 == 0 else "paid",
                refunded_at=now if i % 7 == 0 else None,
            )
            for i, (u, p) in enumerate(zip(users, products, strict=True))
        ]
    )
    for i, purchase in enumerate(purchases):
        Purchase.objects.filter(pk=purchase.pk).update(created_at=now - datetime.timedelta(days=i % 35))


# The browser tests drive Debian's Chromium (`.ci/run` installs it); screenshots of failures go to ARTIFACTS.
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"
needs_chromium = pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="Chromium is not installed (apt-get install chromium)")
