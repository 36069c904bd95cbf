import datetime
import json

import pytest
from django.utils import timezone

from shop.management.commands.seed_demo import DEMO_CATALOG as DEMO_CATALOG_FILE
from shop.models import Category, Product, User
from shop.services.catalog import catalog_add_missing, product_set_on_sale
from shop.services.customers import user_sync_from_telegram

pytestmark = pytest.mark.django_db

DEMO_CATALOG = json.loads(DEMO_CATALOG_FILE.read_text(encoding="utf-8"))
LONG_AGO = timezone.now() - datetime.timedelta(days=30)


def sync(**overrides):
    data = {"telegram_id": 42, "username": "ann", "first_name": "Ann", "last_name": "Lee", "language_code": "en"}
    return user_sync_from_telegram(**{**data, **overrides})


# --- user_sync_from_telegram ---


def test_sync_creates_customer_on_first_contact():
    user = sync()
    assert User.objects.count() == 1
    user.refresh_from_db()
    assert (user.telegram_id, user.username, user.first_name, user.last_name, user.language_code) == (
        42,
        "ann",
        "Ann",
        "Lee",
        "en",
    )
    assert user.is_blocked is False


@pytest.mark.parametrize(
    ("field", "value"),
    [("username", "ann_new"), ("first_name", "Anna"), ("last_name", "Smith"), ("language_code", "ru")],
)
def test_sync_brings_changed_profile_up_to_date(field, value):
    sync()
    User.objects.update(updated_at=LONG_AGO)
    user = sync(**{field: value})
    assert User.objects.count() == 1
    user.refresh_from_db()
    assert getattr(user, field) == value
    assert user.updated_at > LONG_AGO


def test_sync_unblocks_a_user_who_writes_again():
    sync()
    User.objects.update(is_blocked=True)
    user = sync()
    user.refresh_from_db()
    assert user.is_blocked is False


def test_sync_without_changes_writes_nothing(django_assert_num_queries):
    sync()
    User.objects.update(updated_at=LONG_AGO)
    # One SELECT, no UPDATE.
    with django_assert_num_queries(1) as captured:
        sync()
    assert not any(q["sql"].lstrip().upper().startswith(("UPDATE", "INSERT")) for q in captured.captured_queries)
    assert User.objects.get(telegram_id=42).updated_at == LONG_AGO


def test_sync_cuts_over_long_values_to_fit_columns():
    user = sync(username="u" * 100, first_name="F" * 300, last_name="L" * 300, language_code="x" * 50)
    user.refresh_from_db()
    assert user.username == "u" * 64
    assert user.first_name == "F" * 255
    assert user.last_name == "L" * 255
    assert user.language_code == "x" * 35


def test_sync_of_over_long_values_is_stable_on_repeat(django_assert_num_queries):
    # Telegram sends the long name again with every update: the cut value must count as unchanged.
    sync(first_name="F" * 300)
    with django_assert_num_queries(1):
        sync(first_name="F" * 300)


def test_sync_stores_missing_values_as_empty_strings():
    user = sync(username=None, first_name=None, last_name=None, language_code=None)
    user.refresh_from_db()
    assert (user.username, user.first_name, user.last_name, user.language_code) == ("", "", "", "")


def test_sync_clears_username_the_user_removed():
    sync()
    user = sync(username=None)
    user.refresh_from_db()
    assert user.username == ""
    assert str(user) == "Ann Lee"


def test_sync_keeps_customers_apart():
    sync(telegram_id=1, first_name="One")
    sync(telegram_id=2, first_name="Two")
    assert dict(User.objects.values_list("telegram_id", "first_name")) == {1: "One", 2: "Two"}


# --- product_set_on_sale ---


@pytest.fixture
def three_products(category):
    return [
        Product.objects.create(category=category, name=name, price=1, hidden_content="K", is_active=active)
        for name, active in [("A", True), ("B", True), ("C", False)]
    ]


def test_taking_off_sale_returns_how_many_changed(three_products):
    changed = product_set_on_sale(products=Product.objects.all(), on_sale=False)
    assert changed == 2
    assert not Product.objects.filter(is_active=True).exists()


def test_putting_on_sale_returns_how_many_changed(three_products):
    changed = product_set_on_sale(products=Product.objects.all(), on_sale=True)
    assert changed == 1
    assert Product.objects.filter(is_active=True).count() == 3


def test_set_on_sale_with_nothing_to_change_returns_zero(three_products):
    assert product_set_on_sale(products=Product.objects.filter(is_active=True), on_sale=True) == 0
    assert list(Product.objects.order_by("name").values_list("is_active", flat=True)) == [True, True, False]


def test_set_on_sale_touches_only_the_given_products(three_products):
    a, _, c = three_products
    changed = product_set_on_sale(products=Product.objects.filter(pk__in=[a.pk, c.pk]), on_sale=False)
    assert changed == 1
    assert dict(Product.objects.values_list("name", "is_active")) == {"A": False, "B": True, "C": False}


# --- catalog_add_missing, with the demo catalog ---


def test_demo_catalog_fills_an_empty_shop():
    categories, products = catalog_add_missing(DEMO_CATALOG)
    assert categories == len(DEMO_CATALOG) == Category.objects.count()
    assert products == sum(len(entry["products"]) for entry in DEMO_CATALOG) == Product.objects.count()
    assert not Product.objects.filter(hidden_content="").exists()
    assert not Product.objects.filter(is_active=False).exists()


def test_demo_catalog_second_run_creates_nothing():
    catalog_add_missing(DEMO_CATALOG)
    counts = (Category.objects.count(), Product.objects.count())
    assert catalog_add_missing(DEMO_CATALOG) == (0, 0)
    assert (Category.objects.count(), Product.objects.count()) == counts


def test_demo_catalog_completes_a_partial_catalog_without_duplicates():
    first = DEMO_CATALOG[0]
    existing = Category.objects.create(category_name=first["category"])
    Product.objects.create(category=existing, **first["products"][0])
    name = first["products"][0]["name"]
    categories, products = catalog_add_missing(DEMO_CATALOG)
    assert categories == len(DEMO_CATALOG) - 1
    assert products == sum(len(entry["products"]) for entry in DEMO_CATALOG) - 1
    assert Product.objects.filter(name=name).count() == 1


def test_every_demo_product_passes_full_clean():
    catalog_add_missing(DEMO_CATALOG)
    for product in Product.objects.all():
        product.full_clean()
