"""The catalog (services): putting products on sale and off, and the demo catalog."""

import json

import pytest

from shop.management.commands.seed_demo import DEMO_CATALOG as DEMO_CATALOG_FILE
from shop.models import Category, Product
from shop.services.catalog import catalog_add_missing, product_set_on_sale
from shop.testing.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db

DEMO_CATALOG = json.loads(DEMO_CATALOG_FILE.read_text(encoding="utf-8"))


# --- product_set_on_sale ---


@pytest.fixture
def three_products(category):
    return [
        ProductFactory(category=category, name=name, price=1, is_active=active)
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
    existing = CategoryFactory(category_name=first["category"])
    ProductFactory(category=existing, **first["products"][0])
    name = first["products"][0]["name"]
    categories, products = catalog_add_missing(DEMO_CATALOG)
    assert categories == len(DEMO_CATALOG) - 1
    assert products == sum(len(entry["products"]) for entry in DEMO_CATALOG) - 1
    assert Product.objects.filter(name=name).count() == 1


def test_every_demo_product_passes_full_clean():
    catalog_add_missing(DEMO_CATALOG)
    for product in Product.objects.all():
        product.full_clean()
