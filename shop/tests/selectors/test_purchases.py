"""What a customer bought, and what is still to be delivered (selectors)."""

import datetime

import pytest
from django.utils import timezone

from shop.models import Purchase
from shop.selectors.purchases import purchase_list_for_user, purchase_list_undelivered, purchase_page_for_user
from shop.services.delivery import purchase_claim_delivery, purchase_mark_delivered
from shop.services.payments import purchase_mark_refunded
from shop.testing.factories import ProductFactory, PurchaseFactory, UserFactory
from shop.testing.payments import paid_purchase, pay, payload_for

pytestmark = pytest.mark.django_db


# --- A customer's purchases ---


def test_purchase_list_has_only_that_users_purchases_newest_first(ann, bob, category):
    old, new, newest = (ProductFactory(category=category, name=n) for n in ("Old", "New", "Newest"))
    now = timezone.now()
    bought = {}
    for product, days_ago in [(new, 1), (old, 10), (newest, 0)]:
        bought[product.name] = PurchaseFactory(user=ann, product=product, created_at=now - datetime.timedelta(days=days_ago))
    PurchaseFactory(user=bob, product=newest)
    assert list(purchase_list_for_user(telegram_id=ann.telegram_id)) == [bought["Newest"], bought["New"], bought["Old"]]


def test_purchase_list_same_time_newest_id_first(ann, product):
    first, second = PurchaseFactory(user=ann, product=product), PurchaseFactory(user=ann, product=product)
    Purchase.objects.update(created_at=timezone.now())
    assert list(purchase_list_for_user(telegram_id=ann.telegram_id)) == [second, first]


def test_purchase_list_of_unknown_user_is_empty(ann, product):
    PurchaseFactory(user=ann, product=product)
    assert list(purchase_list_for_user(telegram_id=999)) == []


@pytest.mark.parametrize("n_purchases", [2, 20])
def test_purchase_list_with_product_names_is_one_query(ann, category, n_purchases, django_assert_num_queries):
    for i in range(n_purchases):
        PurchaseFactory(user=ann, product=ProductFactory(category=category, name=f"P{i:02}"))
    with django_assert_num_queries(1):
        names = [p.product.name for p in purchase_list_for_user(telegram_id=ann.telegram_id)]
    assert len(names) == n_purchases


def _bought(user, category, count: int) -> list[Purchase]:
    """`count` purchases by `user`, newest first (as My purchases lists them)."""
    now = timezone.now()
    return [
        PurchaseFactory(
            user=user, product=ProductFactory(category=category, name=f"P{i:02}"), created_at=now - datetime.timedelta(hours=i)
        )
        for i in range(count)
    ]


def test_purchase_pages_split_the_list_and_each_counts_them_all_in_one_query(ann, bob, category, django_assert_num_queries):
    mine = _bought(ann, category, 7)
    PurchaseFactory(user=bob)
    pages = []
    for number in (1, 2, 3):
        with django_assert_num_queries(1):
            page = purchase_page_for_user(telegram_id=ann.telegram_id, number=number, per_page=3)
            names = [p.product.name for p in page]
        pages.append(names)
        assert (page.number, page.paginator.count, page.paginator.num_pages) == (number, 7, 3)
    assert pages == [[p.product.name for p in mine[i : i + 3]] for i in (0, 3, 6)]
    assert page.has_previous() and not page.has_next()


def test_a_page_beyond_the_last_shows_the_last(ann, category):
    """A button made when there were more purchases (some refunded since) opens the last page there is."""
    mine = _bought(ann, category, 4)
    page = purchase_page_for_user(telegram_id=ann.telegram_id, number=5, per_page=3)
    assert (page.number, page.paginator.count, list(page)) == (2, 4, [mine[3]])
    first = purchase_page_for_user(telegram_id=ann.telegram_id, number=0, per_page=3)
    assert (first.number, list(first)) == (1, mine[:3])


def test_a_forged_page_number_beyond_any_list_shows_the_last_page(ann, category):
    """A button's page number may have 19 digits; as an OFFSET it would be beyond what the database takes."""
    mine = _bought(ann, category, 4)
    for number in (10**6, 9_999_999_999_999_999_999):
        page = purchase_page_for_user(telegram_id=ann.telegram_id, number=number, per_page=3)
        assert (page.number, list(page)) == (2, [mine[3]])


def test_a_customer_without_purchases_gets_an_empty_first_page(ann, category):
    for number in (1, 4):
        page = purchase_page_for_user(telegram_id=ann.telegram_id, number=number, per_page=3)
        assert (page.number, page.paginator.count, list(page)) == (1, 0, [])
    PurchaseFactory(user=ann, refunded=True)  # a refunded purchase is not listed
    assert list(purchase_page_for_user(telegram_id=ann.telegram_id, number=1, per_page=3)) == []


# --- Purchases waiting for delivery ---


def test_undelivered_list_leaves_out_what_must_not_be_sent(product, category):
    waiting = paid_purchase(UserFactory(telegram_id=1), product, payment_id="waiting")
    delivered = paid_purchase(UserFactory(telegram_id=2), product, payment_id="delivered")
    purchase_mark_delivered(purchase=delivered)
    refunded = paid_purchase(UserFactory(telegram_id=3), product, payment_id="refunded")
    purchase_mark_refunded(payment_id=refunded.payment_id)
    reviewed = UserFactory(telegram_id=4)
    pay(reviewed, payload_for(reviewed, product), total_amount=49, payment_id="review")
    paid_purchase(UserFactory(telegram_id=5, is_blocked=True), product, payment_id="blocked")
    claimed = paid_purchase(UserFactory(telegram_id=6), product, payment_id="claimed")
    purchase_claim_delivery(purchase_id=claimed.pk)
    assert [p.payment_id for p in purchase_list_undelivered()] == [waiting.payment_id, claimed.payment_id]
