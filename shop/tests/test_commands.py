from io import StringIO

import pytest
from django.core.management import call_command

from shop.models import Category, Product

pytestmark = pytest.mark.django_db


def seed_demo() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_demo_fills_an_empty_catalog_and_says_what_it_added():
    output = seed_demo()
    categories, products = Category.objects.count(), Product.objects.count()
    assert categories > 0
    assert products > 0
    assert f"added {categories} categories, {products} products" in output
    assert not Product.objects.filter(hidden_content="").exists()


def test_seed_demo_twice_adds_nothing_and_says_so():
    seed_demo()
    counts = (Category.objects.count(), Product.objects.count())
    output = seed_demo()
    assert (Category.objects.count(), Product.objects.count()) == counts
    assert "nothing added" in output
    assert "added 0" not in output


def test_seed_demo_products_pass_full_clean():
    seed_demo()
    for product in Product.objects.select_related("category"):
        product.full_clean()
