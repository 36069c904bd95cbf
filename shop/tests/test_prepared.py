"""Prepared reads (shop.prepared): the same answers as the querysets they are compiled from, in every case
that decides who owns what; refused when their SQL would depend on a value; safe on any thread."""

import gc
import threading
import weakref
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connections
from django.db.models import Q
from django.utils import timezone

from shop.access.models import RENEWAL_GRACE, ChatAccess, Membership
from shop.models import Product, Purchase
from shop.prepared import Prepared, PreparedError
from shop.selectors.catalog import catalog_version, product_get_for_user, product_get_with_ownership, products_with_ownership
from shop.services.catalog import catalog_changed
from shop.testing.factories import ProductFactory, PurchaseFactory, UserFactory

pytestmark = pytest.mark.django_db


def _orm_product_for_user(product_id: int, telegram_id: int) -> Product | None:
    """product_get_for_user as the ORM answers it, built and compiled on the spot."""
    return (
        products_with_ownership(telegram_id=telegram_id)
        .select_related("category")
        .filter(Q(is_active=True) | Q(owned=True), id=product_id)
        .first()
    )


def _membership(user, product, **fields) -> Membership:
    return Membership.objects.create(user=user, product=product, since=timezone.now() - timedelta(days=40), **fields)


def _cases():
    """(customer, product, whether they own it; None: not found) for every way of owning, or not, a product."""
    now = timezone.now()
    buyer = UserFactory()
    on_sale, off_sale, refunded, never_bought = (ProductFactory() for _ in range(4))
    off_sale_owned = ProductFactory(is_active=False)
    off_sale.is_active = False
    off_sale.save()
    PurchaseFactory(user=buyer, product=on_sale)
    PurchaseFactory(user=buyer, product=off_sale_owned)
    PurchaseFactory(user=buyer, product=refunded, refunded=True)
    PurchaseFactory(user=buyer, product=never_bought, status=Purchase.Status.PAID, review_reason="paid twice?")
    cases = [
        (buyer, on_sale, True),
        (buyer, off_sale, None),  # neither on sale nor theirs: not found
        (buyer, off_sale_owned, True),
        (buyer, refunded, False),
        (buyer, never_bought, False),  # held for staff review: not theirs yet
        (UserFactory(), on_sale, False),
    ]
    chats = {
        "for good": {"for_good": True},
        "paid ahead": {"paid_until": now + timedelta(days=3)},
        "ran out": {"paid_until": now - timedelta(minutes=1)},
        "renewing, in its grace": {"paid_until": now - RENEWAL_GRACE / 2, "renewing": True},
        "renewing, grace over": {"paid_until": now - RENEWAL_GRACE * 2, "renewing": True},
        "ended": {"for_good": True, "state": Membership.State.ENDED, "ended_at": now, "end_reason": "revoked"},
    }
    for n, (name, fields) in enumerate(chats.items()):
        chat_product = ProductFactory(name=f"Chat {name}")
        ChatAccess.objects.create(product=chat_product, chat_id=-100_000 - n)
        member = UserFactory()
        PurchaseFactory(user=member, product=chat_product)  # a purchase alone does not open a chat
        _membership(member, chat_product, **fields)
        cases.append((member, chat_product, name in ("for good", "paid ahead", "renewing, in its grace")))
    return cases


def test_the_card_lookup_answers_as_the_orm_does_in_every_ownership_case():
    for user, product, owned in _cases():
        prepared = product_get_for_user(product_id=product.pk, telegram_id=user.telegram_id)
        orm = _orm_product_for_user(product.pk, user.telegram_id)
        if owned is None:
            assert prepared is None and orm is None, product.name
            continue
        assert (prepared.pk, prepared.owned, prepared.gives_chat_access) == (orm.pk, orm.owned, orm.gives_chat_access)
        assert prepared.owned is owned, product.name
        assert prepared.category.category_name == orm.category.category_name  # select_related, no query more
        assert (prepared.price, prepared.hidden_content, prepared.is_active) == (orm.price, orm.hidden_content, orm.is_active)


def test_the_payment_lookup_finds_products_off_sale_and_says_whether_they_are_owned():
    buyer = UserFactory()
    product = ProductFactory(is_active=False)
    assert product_get_with_ownership(product_id=product.pk, telegram_id=buyer.telegram_id).owned is False
    PurchaseFactory(user=buyer, product=product)
    assert product_get_with_ownership(product_id=product.pk, telegram_id=buyer.telegram_id).owned is True
    assert product_get_with_ownership(product_id=product.pk + 1000, telegram_id=buyer.telegram_id) is None


def test_a_membership_runs_out_at_the_time_of_the_read_not_of_the_compilation(django_assert_num_queries):
    """Nothing changes in the database: only the clock moves past what was paid. A read that froze the time
    it was compiled at would still say the chat is theirs."""
    member = UserFactory()
    product = ProductFactory()
    ChatAccess.objects.create(product=product, chat_id=-1001)
    paid_until = timezone.now() + timedelta(hours=1)
    _membership(member, product, paid_until=paid_until)
    assert product_get_for_user(product_id=product.pk, telegram_id=member.telegram_id).owned is True  # compiled now
    later = mock.patch("django.utils.timezone.now", return_value=paid_until + timedelta(seconds=1))
    with later, django_assert_num_queries(1):
        assert product_get_for_user(product_id=product.pk, telegram_id=member.telegram_id).owned is False


def test_an_id_beyond_64_bits_finds_nothing_instead_of_failing():
    """A forged button's id; Telegram's own ids have at most 52 bits."""
    product = ProductFactory()
    assert product_get_for_user(product_id=2**70, telegram_id=1) is None
    assert product_get_for_user(product_id=product.pk, telegram_id=-(2**64)) is None
    assert product_get_for_user(product_id=product.pk, telegram_id=1).owned is False


def test_the_catalog_version_is_read_fresh_each_time():
    before = catalog_version()
    catalog_changed()
    assert catalog_version() == before + 1


def test_a_value_that_does_not_reach_the_sql_is_refused():
    unused = Prepared(lambda name: Product.objects.filter(name="fixed")[:1], name=str)
    with pytest.raises(PreparedError, match="do not reach the SQL"):
        unused.first(name="Key")


def test_sql_that_depends_on_a_value_is_refused():
    """A value derived in Python (now minus an hour) would be frozen at compile time: refused, not stale."""
    derived = Prepared(
        lambda now: Membership.objects.filter(paid_until__gt=now, since__lt=now - timedelta(hours=1))[:1], now=timezone.datetime
    )
    with pytest.raises(PreparedError, match="depends on its values"):
        derived.first(now=timezone.now())


def test_values_of_the_wrong_kind_are_refused():
    by_id = Prepared(lambda product_id: Product.objects.filter(pk=product_id)[:1], product_id=int)
    with pytest.raises(PreparedError):
        by_id.first(product_id=True)
    with pytest.raises(PreparedError):
        by_id.first(product_id="1")
    with pytest.raises(PreparedError):
        by_id.first()
    aware = Prepared(lambda now: Membership.objects.filter(paid_until__gt=now)[:1], now=timezone.datetime)
    with pytest.raises(PreparedError, match="aware"):
        aware.first(now=timezone.datetime(2030, 1, 1))


def test_a_string_value_is_a_parameter_never_sql():
    named = Prepared(lambda name: Product.objects.filter(name=name)[:1], name=str)
    product = ProductFactory(name="Key'); DROP TABLE shop_product; --")
    assert named.first(name=product.name) == product
    assert named.first(name="nothing") is None
    assert Product.objects.filter(pk=product.pk).exists()


def test_a_prepared_read_is_never_handed_out_to_chain_on():
    by_id = Prepared(lambda product_id: Product.objects.filter(pk=product_id), product_id=int)
    assert by_id.all(product_id=0) == []
    compiled = next(iter(by_id._compiled.values()))
    from shop.prepared import _CompiledQuery

    with pytest.raises(PreparedError):
        _CompiledQuery(compiled, (0,)).chain()


@pytest.mark.django_db(transaction=True)
def test_a_read_compiled_on_one_thread_runs_on_another_with_that_threads_connection():
    buyer = UserFactory()
    product = ProductFactory()
    PurchaseFactory(user=buyer, product=product)
    assert product_get_for_user(product_id=product.pk, telegram_id=buyer.telegram_id).owned is True  # compiled here
    seen = {}

    def other_thread():  # the compiling thread's connection used here would raise (Django forbids it)
        try:
            seen["owned"] = product_get_for_user(product_id=product.pk, telegram_id=buyer.telegram_id).owned
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()
    assert seen["owned"] is True


@pytest.mark.django_db(transaction=True)
def test_prepared_reads_on_many_threads_at_once_answer_each_their_own_values():
    product = ProductFactory()
    owners, strangers = [UserFactory() for _ in range(4)], [UserFactory() for _ in range(4)]
    for owner in owners:
        PurchaseFactory(user=owner, product=product)
    wrong = []

    def run(user, expected):
        try:
            for _ in range(150):
                if product_get_for_user(product_id=product.pk, telegram_id=user.telegram_id).owned is not expected:
                    wrong.append((user.telegram_id, expected))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(u, True)) for u in owners]
    threads += [threading.Thread(target=run, args=(u, False)) for u in strangers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []


@pytest.mark.django_db(transaction=True)
def test_a_finished_threads_connection_is_not_kept_alive_by_the_reads_it_ran():
    """Runbot's threads come and go (webhook workers, tasks): their connections must go with them."""
    buyer, product = UserFactory(), ProductFactory()
    PurchaseFactory(user=buyer, product=product)
    seen = []

    def other_thread():
        try:
            for _ in range(2):  # the second run uses what the first found
                seen.append(product_get_for_user(product_id=product.pk, telegram_id=buyer.telegram_id).owned)
            seen.append(weakref.ref(connections["default"]))
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()
    del thread
    gc.collect()
    assert seen[:2] == [True, True]  # converted to a bool, as the ORM's own read gives it, both times
    assert seen[2]() is None
