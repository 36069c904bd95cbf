"""Keeping search up to date: every save of a product, products added in bulk, forgetting old queries."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from shop.models import Product
from shop.search.models import ProductSearch, SavedSearch
from shop.search.selectors import product_search
from shop.search.services import saved_search_forget_old, saved_search_keep
from shop.testing.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


def test_a_saved_product_has_its_folded_text_without_html():
    product = ProductFactory(name="Ключ", description="<b>Быстрая</b> активация &amp; ПОДДЕРЖКА")
    row = ProductSearch.objects.get(product=product)
    assert row.name == "ключ"
    assert row.text == "ключ быстрая активация & поддержка"


def test_a_save_that_touches_neither_name_nor_description_leaves_the_row():
    product = ProductFactory(name="Key")
    ProductSearch.objects.filter(product=product).update(text="stale")
    product.price = 99
    product.save(update_fields=["price"])
    assert ProductSearch.objects.get(product=product).text == "stale"
    product.save(update_fields=["name"])
    assert ProductSearch.objects.get(product=product).text == "key"


def test_products_added_in_bulk_are_indexed_by_the_command():
    category = CategoryFactory()
    Product.objects.bulk_create([Product(category=category, name=f"Bulk {n}", price=1, hidden_content="K") for n in range(3)])
    assert list(product_search(text="bulk")) == []
    call_command("search_index")
    assert product_search(text="bulk").count() == 3


def test_reindexing_everything_rewrites_every_row():
    product = ProductFactory(name="Key")
    ProductSearch.objects.filter(product=product).update(text="stale", name="stale")
    call_command("search_index", "--all")
    assert ProductSearch.objects.get(product=product).text == "key"


def test_queries_older_than_a_week_are_forgotten(monkeypatch):
    monkeypatch.setattr("shop.search.services.SWEEP_CHANCE", 0)  # the sweep called here, not by chance
    key, _text = saved_search_keep(text="old words")
    SavedSearch.objects.filter(key=key).update(created_at=timezone.now() - timedelta(days=8))
    fresh, _text = saved_search_keep(text="new words")
    assert saved_search_forget_old() == 1
    assert list(SavedSearch.objects.values_list("key", flat=True)) == [fresh]


def test_keeping_a_query_is_one_statement(django_assert_num_queries, monkeypatch):
    monkeypatch.setattr("shop.search.services.SWEEP_CHANCE", 0)
    with django_assert_num_queries(1):
        saved_search_keep(text="keys")


def test_keeping_queries_now_and_then_sweeps_out_the_old_ones(monkeypatch):
    key, _text = saved_search_keep(text="old words")
    SavedSearch.objects.filter(key=key).update(created_at=timezone.now() - timedelta(days=8))
    monkeypatch.setattr("shop.search.services.SWEEP_CHANCE", 1)
    fresh, _text = saved_search_keep(text="new words")
    assert list(SavedSearch.objects.values_list("key", flat=True)) == [fresh]
