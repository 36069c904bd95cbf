"""The catalog as customers see it (selectors): categories and products on sale, one product with ownership."""

import pytest

from shop.models import Product
from shop.selectors.catalog import category_get_on_sale, category_list_on_sale, product_get_for_user, product_list_on_sale
from shop.testing.factories import CategoryFactory, ProductFactory, PurchaseFactory

pytestmark = pytest.mark.django_db


# --- Categories ---


def test_category_list_shows_only_categories_with_products_on_sale():
    keys, courses, retired = (CategoryFactory(category_name=n) for n in ("Keys", "Courses", "Retired"))
    CategoryFactory(category_name="Empty")
    ProductFactory(category=keys, name="Key 1")
    ProductFactory(category=courses, name="Course 1")
    ProductFactory(category=retired, name="Old", is_active=False)
    assert [c.category_name for c in category_list_on_sale()] == ["Courses", "Keys"]


def test_category_list_counts_only_products_on_sale():
    keys = CategoryFactory(category_name="Keys")
    ProductFactory(category=keys, name="A")
    ProductFactory(category=keys, name="B")
    ProductFactory(category=keys, name="C", is_active=False)
    [listed] = category_list_on_sale()
    assert listed.on_sale_count == 2


def test_category_list_counts_each_category_separately():
    keys = CategoryFactory(category_name="Keys")
    courses = CategoryFactory(category_name="Courses")
    ProductFactory(category=keys, name="A")
    for name in ("B", "C", "D"):
        ProductFactory(category=courses, name=name)
    assert {c.category_name: c.on_sale_count for c in category_list_on_sale()} == {"Courses": 3, "Keys": 1}


@pytest.mark.parametrize("n_categories", [3, 30])
def test_category_list_is_one_query_however_many_categories(n_categories, django_assert_num_queries):
    for i in range(n_categories):
        category = CategoryFactory(category_name=f"Category {i:02}")
        ProductFactory(category=category, name="On sale")
        ProductFactory(category=category, name="Off sale", is_active=False)
    with django_assert_num_queries(1):
        listed = [(c.category_name, c.on_sale_count) for c in category_list_on_sale()]
    assert len(listed) == n_categories
    assert {count for _, count in listed} == {1}


def test_category_get_on_sale_refuses_category_without_products_on_sale(category):
    ProductFactory(category=category, name="Old", is_active=False)
    assert category_get_on_sale(category_id=category.id) is None
    ProductFactory(category=category, name="New")
    assert category_get_on_sale(category_id=category.id) == category


def test_category_get_on_sale_unknown_id_is_none(db):
    assert category_get_on_sale(category_id=999_999) is None


# --- Products in a category ---


def test_product_list_is_sorted_by_name_and_excludes_off_sale(category):
    ProductFactory(category=category, name="Charlie")
    ProductFactory(category=category, name="Alpha")
    ProductFactory(category=category, name="Bravo", is_active=False)
    ProductFactory(category=category, name="Delta")
    other = CategoryFactory(category_name="Other")
    ProductFactory(category=other, name="Aardvark")
    names = [p.name for p in product_list_on_sale(category_id=category.id)]
    assert names == ["Alpha", "Charlie", "Delta"]


def test_product_list_same_names_are_in_creation_order(category):
    first = ProductFactory(category=category, name="Same")
    second = ProductFactory(category=category, name="Same")
    assert list(product_list_on_sale(category_id=category.id)) == [first, second]


@pytest.mark.parametrize("n_products", [2, 20])
def test_product_list_is_one_query(category, n_products, django_assert_num_queries):
    for i in range(n_products):
        ProductFactory(category=category, name=f"P{i:02}")
    with django_assert_num_queries(1):
        assert len([(p.name, p.price) for p in product_list_on_sale(category_id=category.id)]) == n_products


# --- One product for one customer ---


def test_on_sale_product_is_shown_not_owned(ann, product):
    found = product_get_for_user(product_id=product.id, telegram_id=ann.telegram_id)
    assert found == product
    assert found.owned is False


def test_on_sale_product_is_shown_to_someone_not_yet_a_customer(product):
    found = product_get_for_user(product_id=product.id, telegram_id=777)
    assert found == product
    assert found.owned is False


def test_bought_on_sale_product_is_owned(ann, product):
    PurchaseFactory(user=ann, product=product)
    assert product_get_for_user(product_id=product.id, telegram_id=ann.telegram_id).owned is True


def test_off_sale_product_stays_available_to_its_buyer(ann, product):
    PurchaseFactory(user=ann, product=product)
    Product.objects.filter(pk=product.pk).update(is_active=False)
    found = product_get_for_user(product_id=product.id, telegram_id=ann.telegram_id)
    assert found == product
    assert found.owned is True
    assert found.hidden_content == "KEY-123"


def test_off_sale_product_is_hidden_from_others(ann, bob, product):
    PurchaseFactory(user=ann, product=product)
    Product.objects.filter(pk=product.pk).update(is_active=False)
    assert product_get_for_user(product_id=product.id, telegram_id=bob.telegram_id) is None


def test_another_users_purchase_does_not_make_it_owned(ann, bob, product):
    PurchaseFactory(user=ann, product=product)
    found = product_get_for_user(product_id=product.id, telegram_id=bob.telegram_id)
    assert found == product
    assert found.owned is False


def test_product_bought_twice_is_returned_once(ann, product):
    PurchaseFactory(user=ann, product=product)
    PurchaseFactory(user=ann, product=product)
    assert product_get_for_user(product_id=product.id, telegram_id=ann.telegram_id) == product


def test_unknown_product_is_none(ann, product):
    assert product_get_for_user(product_id=product.id + 1000, telegram_id=ann.telegram_id) is None


def test_product_for_user_is_one_query_with_its_category(ann, product, django_assert_num_queries):
    PurchaseFactory(user=ann, product=product)
    with django_assert_num_queries(1):
        found = product_get_for_user(product_id=product.id, telegram_id=ann.telegram_id)
        assert (found.category.category_name, found.owned) == ("Keys", True)
