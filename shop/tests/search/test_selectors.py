"""Search as customers meet it: products on sale found by any of their words, in any case, Russian or English,
best first; best sellers; queries kept for the pages of results. (SQLite's plain match; PostgreSQL's full
text is run by the lead's PostgreSQL suite through the same tests.)"""

import pytest
from django.core.cache import cache

from shop.models import Purchase
from shop.search.selectors import product_best_sellers, product_search, product_search_page, saved_search_text
from shop.search.services import saved_search_keep
from shop.testing.factories import ProductFactory, PurchaseFactory, UserFactory
from shop.trial import trial_customer_id

pytestmark = pytest.mark.django_db


def names(products) -> list[str]:
    return [p.name for p in products]


def test_finds_by_name_and_by_description_in_any_case():
    ProductFactory(name="Windows 11 Pro key")
    ProductFactory(name="Office suite", description="Includes <b>Word</b> and Excel")
    ProductFactory(name="Photo course")
    assert names(product_search(text="WINDOWS")) == ["Windows 11 Pro key"]
    assert names(product_search(text="excel")) == ["Office suite"]
    assert names(product_search(text="Word")) == ["Office suite"]


def test_cyrillic_is_found_in_any_case_and_yo_as_ye():
    ProductFactory(name="Ключ Windows", description="Активация за минуту")
    ProductFactory(name="Курс «Ёлки»")
    assert names(product_search(text="КЛЮЧ")) == ["Ключ Windows"]
    assert names(product_search(text="активация")) == ["Ключ Windows"]
    assert names(product_search(text="ЕЛКИ")) == ["Курс «Ёлки»"]
    assert names(product_search(text="ёлки")) == ["Курс «Ёлки»"]


def test_every_word_must_match_and_punctuation_does_not_count():
    ProductFactory(name="Game key Steam")
    ProductFactory(name="Game key Origin")
    assert names(product_search(text="game, steam!")) == ["Game key Steam"]
    assert names(product_search(text="key")) == ["Game key Origin", "Game key Steam"]


@pytest.mark.parametrize(
    ("query", "named", "described"),
    [
        ("guide", {"name": "Python guide"}, {"name": "A book", "description": "Not a guide"}),
        ("КУРС", {"name": "Курс Django"}, {"name": "Книга", "description": "Не курс, а книга"}),
    ],
)
def test_a_match_in_the_name_ranks_above_one_in_the_description(query, named, described):
    ProductFactory(**described)  # first by name order, and created first
    ProductFactory(**named)
    assert names(product_search(text=query)) == [named["name"], described["name"]]


def test_more_words_in_the_name_rank_higher():
    ProductFactory(name="Antivirus", description="Windows and Mac")
    ProductFactory(name="Antivirus for Windows")
    assert names(product_search(text="antivirus windows")) == ["Antivirus for Windows", "Antivirus"]


def test_products_off_sale_are_never_found():
    ProductFactory(name="Old key", is_active=False)
    ProductFactory(name="New key")
    assert names(product_search(text="key")) == ["New key"]


def test_hidden_content_is_not_searched():
    ProductFactory(name="Mystery box", hidden_content="SECRET-CODE-123")
    assert list(product_search(text="SECRET")) == []


def test_renaming_a_product_is_found_at_once():
    product = ProductFactory(name="Draft")
    product.name = "Final release"
    product.save()
    assert names(product_search(text="final")) == ["Final release"]
    assert list(product_search(text="draft")) == []


def test_a_query_without_letters_or_digits_finds_nothing():
    ProductFactory(name="Key")
    assert list(product_search(text="!!! ???")) == []
    assert list(product_search(text="")) == []


def test_like_wildcards_in_a_query_are_plain_characters():
    ProductFactory(name="Key")
    assert list(product_search(text="%")) == []
    assert list(product_search(text="_")) == []


def test_results_paginate_in_a_stable_order():
    for n in range(12):
        ProductFactory(name=f"Key {n:02d}")
    results = product_search(text="key")
    assert results.count() == 12
    assert names(results[:5]) == [f"Key {n:02d}" for n in range(5)]
    assert names(results[10:15]) == ["Key 10", "Key 11"]


def test_search_takes_a_query_or_two(django_assert_max_num_queries):
    ProductFactory(name="Key")
    with django_assert_max_num_queries(2):  # PostgreSQL: its full-text index, then the results
        assert names(product_search(text="key")) == ["Key"]


def test_a_word_is_found_by_its_start_through_the_index():
    ProductFactory(name="Ключи для игр", description="Steam, Origin")
    assert names(product_search(text="ключ")) == ["Ключи для игр"]
    assert names(product_search(text="ste")) == ["Ключи для игр"]


def test_a_word_inside_another_is_found_too():
    ProductFactory(name="Windows 11")
    ProductFactory(name="Antivirus", description="Защищает компьютер")
    assert names(product_search(text="indows")) == ["Windows 11"]
    assert names(product_search(text="ЩИЩАЕТ")) == ["Antivirus"]


def test_short_words_count_as_well():
    ProductFactory(name="Windows 11 key")
    ProductFactory(name="Windows 10 key")
    ProductFactory(name="Курс за час")
    assert names(product_search(text="windows 11")) == ["Windows 11 key"]
    assert names(product_search(text="11")) == ["Windows 11 key"]
    assert names(product_search(text="за курс")) == ["Курс за час"]


def test_a_deleted_product_leaves_no_trace_in_search():
    product = ProductFactory(name="Doomed")
    product.delete()
    assert list(product_search(text="doomed")) == []


def test_a_page_of_results_counts_once_and_loads_only_what_is_asked(django_assert_max_num_queries):
    for n in range(12):
        ProductFactory(name=f"Key {n:02d}", description="long " * 100)
    with django_assert_max_num_queries(3):  # PostgreSQL: its full-text index, then the count and the page
        page = product_search_page(text="key", number=2, per_page=8, fields=("id", "name", "price"))
        assert (page.paginator.count, page.number, names(page.object_list)) == (12, 2, [f"Key {n:02d}" for n in range(8, 12)])
    assert "description" in page.object_list[0].get_deferred_fields()


def test_a_page_falls_back_to_the_plain_match_and_out_of_range_gives_the_last():
    ProductFactory(name="Windows 11")
    page = product_search_page(text="indows", number=5, per_page=8)
    assert (page.paginator.count, page.number, names(page.object_list)) == (1, 1, ["Windows 11"])
    assert product_search_page(text="nothing", number=1, per_page=8).paginator.count == 0
    assert product_search_page(text="!!!", number=1, per_page=8).paginator.count == 0


def test_best_sellers_are_the_most_bought_on_sale():
    rare, popular, off_sale = ProductFactory(name="Rare"), ProductFactory(name="Popular"), ProductFactory(name="Gone")
    ProductFactory(name="Unsold")
    PurchaseFactory.create_batch(3, product=popular)
    PurchaseFactory(product=rare)
    PurchaseFactory.create_batch(2, product=rare, refunded=True)
    PurchaseFactory.create_batch(5, product=off_sale)
    off_sale.is_active = False
    off_sale.save()
    assert names(product_best_sellers()) == ["Popular", "Rare", "Unsold"]


def test_best_sellers_leave_test_purchases_out():
    cache.clear()
    real, tried = ProductFactory(name="A real seller"), ProductFactory(name="B tried by staff")
    PurchaseFactory(product=real)
    staff = UserFactory(telegram_id=trial_customer_id(staff_id=1))
    for n in range(3):  # staff trying the bot
        PurchaseFactory(user=staff, product=tried, payment_type=Purchase.PaymentType.TEST, payment_id=f"test:{n}")
    assert names(product_best_sellers()) == ["A real seller", "B tried by staff"]


def test_a_kept_query_is_found_by_its_key_and_the_same_text_gives_the_same_key():
    key, text = saved_search_keep(text="  game   keys\n")
    assert text == "game keys"
    assert saved_search_keep(text="game keys") == (key, "game keys")
    assert saved_search_text(key=key) == "game keys"
    assert saved_search_text(key=key + 1) is None


def test_a_query_with_nul_or_a_lone_surrogate_is_kept_storable():
    key, text = saved_search_keep(text="key\x00s \ud800x")
    assert saved_search_text(key=key) == text == "key\ufffds ?x"


def test_a_long_query_is_cut_when_kept():
    _key, text = saved_search_keep(text="x" * 500)
    assert len(text) == 100
