import datetime
import itertools

import pytest
from django.utils import timezone

from shop.models import BotText, Category, Product, Purchase, User
from shop.selectors.catalog import category_get_on_sale, category_list_on_sale, product_get_for_user, product_list_on_sale
from shop.selectors.content import bot_text_get
from shop.selectors.purchases import purchase_list_for_user

pytestmark = pytest.mark.django_db

_payment_ids = itertools.count(1)


def make_product(category, name="Item", *, active=True, price=10):
    return Product.objects.create(category=category, name=name, price=price, hidden_content="K", is_active=active)


def buy(user, product, *, price=10):
    return Purchase.objects.create(
        user=user, product=product, price=price, currency="XTR", payment_type="stars", payment_id=f"charge-{next(_payment_ids)}"
    )


@pytest.fixture
def ann():
    return User.objects.create(telegram_id=42, username="ann")


@pytest.fixture
def bob():
    return User.objects.create(telegram_id=43, username="bob")


# --- Categories ---


def test_category_list_shows_only_categories_with_products_on_sale():
    keys, courses, retired = (Category.objects.create(category_name=n) for n in ("Keys", "Courses", "Retired"))
    Category.objects.create(category_name="Empty")
    make_product(keys, "Key 1")
    make_product(courses, "Course 1")
    make_product(retired, "Old", active=False)
    assert [c.category_name for c in category_list_on_sale()] == ["Courses", "Keys"]


def test_category_list_counts_only_products_on_sale():
    keys = Category.objects.create(category_name="Keys")
    make_product(keys, "A")
    make_product(keys, "B")
    make_product(keys, "C", active=False)
    [listed] = category_list_on_sale()
    assert listed.on_sale_count == 2


def test_category_list_counts_each_category_separately():
    keys = Category.objects.create(category_name="Keys")
    courses = Category.objects.create(category_name="Courses")
    make_product(keys, "A")
    for name in ("B", "C", "D"):
        make_product(courses, name)
    assert {c.category_name: c.on_sale_count for c in category_list_on_sale()} == {"Courses": 3, "Keys": 1}


@pytest.mark.parametrize("n_categories", [3, 30])
def test_category_list_is_one_query_however_many_categories(n_categories, django_assert_num_queries):
    for i in range(n_categories):
        category = Category.objects.create(category_name=f"Category {i:02}")
        make_product(category, "On sale")
        make_product(category, "Off sale", active=False)
    with django_assert_num_queries(1):
        listed = [(c.category_name, c.on_sale_count) for c in category_list_on_sale()]
    assert len(listed) == n_categories
    assert {count for _, count in listed} == {1}


def test_category_get_on_sale_refuses_category_without_products_on_sale(category):
    make_product(category, "Old", active=False)
    assert category_get_on_sale(category_id=category.id) is None
    make_product(category, "New")
    assert category_get_on_sale(category_id=category.id) == category


def test_category_get_on_sale_unknown_id_is_none(db):
    assert category_get_on_sale(category_id=999_999) is None


# --- Products in a category ---


def test_product_list_is_sorted_by_name_and_excludes_off_sale(category):
    make_product(category, "Charlie")
    make_product(category, "Alpha")
    make_product(category, "Bravo", active=False)
    make_product(category, "Delta")
    other = Category.objects.create(category_name="Other")
    make_product(other, "Aardvark")
    names = [p.name for p in product_list_on_sale(category_id=category.id)]
    assert names == ["Alpha", "Charlie", "Delta"]


def test_product_list_same_names_are_in_creation_order(category):
    first = make_product(category, "Same")
    second = make_product(category, "Same")
    assert list(product_list_on_sale(category_id=category.id)) == [first, second]


@pytest.mark.parametrize("n_products", [2, 20])
def test_product_list_is_one_query(category, n_products, django_assert_num_queries):
    for i in range(n_products):
        make_product(category, f"P{i:02}")
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
    buy(ann, product)
    assert product_get_for_user(product_id=product.id, telegram_id=ann.telegram_id).owned is True


def test_off_sale_product_stays_available_to_its_buyer(ann, product):
    buy(ann, product)
    Product.objects.filter(pk=product.pk).update(is_active=False)
    found = product_get_for_user(product_id=product.id, telegram_id=ann.telegram_id)
    assert found == product
    assert found.owned is True
    assert found.hidden_content == "KEY-123"


def test_off_sale_product_is_hidden_from_others(ann, bob, product):
    buy(ann, product)
    Product.objects.filter(pk=product.pk).update(is_active=False)
    assert product_get_for_user(product_id=product.id, telegram_id=bob.telegram_id) is None


def test_another_users_purchase_does_not_make_it_owned(ann, bob, product):
    buy(ann, product)
    found = product_get_for_user(product_id=product.id, telegram_id=bob.telegram_id)
    assert found == product
    assert found.owned is False


def test_product_bought_twice_is_returned_once(ann, product):
    buy(ann, product)
    buy(ann, product)
    assert product_get_for_user(product_id=product.id, telegram_id=ann.telegram_id) == product


def test_unknown_product_is_none(ann, product):
    assert product_get_for_user(product_id=product.id + 1000, telegram_id=ann.telegram_id) is None


def test_product_for_user_is_one_query_with_its_category(ann, product, django_assert_num_queries):
    buy(ann, product)
    with django_assert_num_queries(1):
        found = product_get_for_user(product_id=product.id, telegram_id=ann.telegram_id)
        assert (found.category.category_name, found.owned) == ("Keys", True)


# --- A customer's purchases ---


def test_purchase_list_has_only_that_users_purchases_newest_first(ann, bob, category):
    old, new, newest = (make_product(category, n) for n in ("Old", "New", "Newest"))
    now = timezone.now()
    bought = {}
    for product, days_ago in [(new, 1), (old, 10), (newest, 0)]:
        bought[product.name] = buy(ann, product)
        Purchase.objects.filter(pk=bought[product.name].pk).update(created_at=now - datetime.timedelta(days=days_ago))
    buy(bob, newest)
    assert list(purchase_list_for_user(telegram_id=ann.telegram_id)) == [bought["Newest"], bought["New"], bought["Old"]]


def test_purchase_list_same_time_newest_id_first(ann, product):
    first, second = buy(ann, product), buy(ann, product)
    Purchase.objects.update(created_at=timezone.now())
    assert list(purchase_list_for_user(telegram_id=ann.telegram_id)) == [second, first]


def test_purchase_list_of_unknown_user_is_empty(ann, product):
    buy(ann, product)
    assert list(purchase_list_for_user(telegram_id=999)) == []


@pytest.mark.parametrize("n_purchases", [2, 20])
def test_purchase_list_with_product_names_is_one_query(ann, category, n_purchases, django_assert_num_queries):
    for i in range(n_purchases):
        buy(ann, make_product(category, f"P{i:02}"))
    with django_assert_num_queries(1):
        names = [p.product.name for p in purchase_list_for_user(telegram_id=ann.telegram_id)]
    assert len(names) == n_purchases


# --- Texts staff edit ---


def test_bot_text_in_the_users_language(db):
    BotText.objects.create(key="help", language="en", text="Help")
    BotText.objects.create(key="help", language="ru", text="Помощь")
    assert bot_text_get(key="help", language="ru") == "Помощь"
    assert bot_text_get(key="help", language="en") == "Help"


@pytest.mark.parametrize("language", ["ru", "de", ""])
def test_bot_text_falls_back_to_english(db, language):
    BotText.objects.create(key="terms", language="en", text="Terms")
    assert bot_text_get(key="terms", language=language) == "Terms"


def test_bot_text_none_when_nothing_written(db):
    BotText.objects.create(key="help", language="ru", text="Помощь")
    assert bot_text_get(key="terms", language="ru") is None
    assert bot_text_get(key="help", language="en") is None


def test_bot_text_is_one_query(db, django_assert_num_queries):
    BotText.objects.create(key="help", language="en", text="Help")
    with django_assert_num_queries(1):
        bot_text_get(key="help", language="ru")
