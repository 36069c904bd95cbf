"""Payments (services): invoices, pre-checkout, recording money exactly once, free products, grants, refunds."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shop import signals
from shop.invoices import InvoiceTerms, invoice_terms
from shop.models import Product, Purchase, UnmatchedPayment, User
from shop.money import from_minor_units
from shop.selectors.catalog import product_get_for_user
from shop.selectors.purchases import purchase_list_for_user
from shop.services.payments import (
    CheckoutRefusal,
    checkout_check,
    invoice_create,
    purchase_get_free,
    purchase_grant,
    purchase_mark_refunded,
    purchase_refund,
    user_owns_product,
)
from shop.testing.concurrency import run_at_once
from shop.testing.factories import ProductFactory, UserFactory
from shop.testing.payments import paid_purchase, pay, payload_for

pytestmark = pytest.mark.django_db

THREADS = 8


@pytest.fixture
def free_product(category):
    return ProductFactory(category=category, name="Welcome guide", price=0, hidden_content="GUIDE")


@pytest.fixture
def rub(settings):
    settings.SHOP_CURRENCY = "RUB"


def check(user: User, payload: str, *, total_amount: int = 50, currency: str = "XTR"):
    return checkout_check(telegram_id=user.telegram_id, payload=payload, currency=currency, total_amount=total_amount)


# --- invoice_create ---


def test_invoice_refuses_a_product_off_sale(product, ann):
    product.is_active = False
    product.save()
    with pytest.raises(ValidationError):
        invoice_create(telegram_id=ann.telegram_id, product=product)


def test_invoice_refuses_a_free_product(free_product, ann):
    with pytest.raises(ValidationError):
        invoice_create(telegram_id=ann.telegram_id, product=free_product)


def test_invoice_carries_todays_price_and_shop_currency(product, ann, settings):
    product.price = 75
    product.save()
    settings.SHOP_CURRENCY = "RUB"
    terms, payload = invoice_create(telegram_id=ann.telegram_id, product=product)
    assert terms == InvoiceTerms(telegram_id=42, product_id=product.pk, price=75, currency="RUB")
    assert invoice_terms(payload) == terms


# --- checkout_check (pre_checkout_query) ---


def test_checkout_accepts_a_genuine_invoice(product, ann, django_assert_max_num_queries):
    payload = payload_for(ann, product)
    with django_assert_max_num_queries(3):
        assert check(ann, payload) is None


def test_checkout_refuses_a_tampered_payload(product, ann):
    payload = payload_for(ann, product)
    cheaper = payload.replace(":50:", ":1:", 1)
    assert cheaper != payload
    assert check(ann, cheaper, total_amount=1) == CheckoutRefusal.INVALID


def test_checkout_refuses_another_users_invoice(product, ann, bob):
    assert check(bob, payload_for(ann, product)) == CheckoutRefusal.NOT_YOURS


def test_checkout_refuses_a_product_taken_off_sale_after_the_invoice(product, ann):
    payload = payload_for(ann, product)
    Product.objects.filter(pk=product.pk).update(is_active=False)
    assert check(ann, payload) == CheckoutRefusal.UNAVAILABLE


def test_checkout_refuses_a_deleted_product(product, ann):
    payload = payload_for(ann, product)
    product.delete()
    assert check(ann, payload) == CheckoutRefusal.UNAVAILABLE


def test_checkout_refuses_when_the_price_changed_since_the_invoice(product, ann):
    payload = payload_for(ann, product)
    Product.objects.filter(pk=product.pk).update(price=80)
    assert check(ann, payload, total_amount=50) == CheckoutRefusal.PRICE_CHANGED
    assert check(ann, payload, total_amount=80) == CheckoutRefusal.PRICE_CHANGED


@pytest.mark.parametrize(("total_amount", "currency"), [(49, "XTR"), (51, "XTR"), (0, "XTR"), (50, "RUB"), (5000, "RUB")])
def test_checkout_refuses_an_amount_or_currency_other_than_the_invoice(product, ann, total_amount, currency):
    payload = payload_for(ann, product)
    assert check(ann, payload, total_amount=total_amount, currency=currency) == CheckoutRefusal.PRICE_CHANGED


def test_checkout_refuses_when_shop_currency_changed_since_the_invoice(product, ann, settings):
    payload = payload_for(ann, product)
    settings.SHOP_CURRENCY = "RUB"
    assert check(ann, payload, total_amount=5000, currency="RUB") == CheckoutRefusal.PRICE_CHANGED


def test_checkout_refuses_what_the_user_already_owns(product, ann, django_assert_max_num_queries):
    paid_purchase(ann, product)
    payload = payload_for(ann, product)
    with django_assert_max_num_queries(3):
        assert check(ann, payload) == CheckoutRefusal.ALREADY_OWNED


def test_checkout_ignores_what_another_user_owns(product, ann, bob):
    paid_purchase(bob, product)
    assert check(ann, payload_for(ann, product)) is None


def test_checkout_accepts_buying_again_after_a_refund(product, ann):
    purchase = paid_purchase(ann, product)
    purchase_mark_refunded(payment_id=purchase.payment_id)
    assert check(ann, payload_for(ann, product)) is None


def test_checkout_in_roubles_counts_kopecks(product, ann, rub):
    Product.objects.filter(pk=product.pk).update(price=990)
    product.refresh_from_db()
    payload = payload_for(ann, product)
    assert check(ann, payload, total_amount=99000, currency="RUB") is None
    assert check(ann, payload, total_amount=990, currency="RUB") == CheckoutRefusal.PRICE_CHANGED
    assert check(ann, payload, total_amount=99000, currency="XTR") == CheckoutRefusal.PRICE_CHANGED


# --- purchase_record_payment (successful_payment) ---


def test_payment_in_stars_is_recorded_once_with_what_was_paid(product, ann):
    outcome = pay(ann, payload_for(ann, product), payment_id="stars-charge-1")
    assert outcome.created is True
    assert outcome.unmatched is None
    assert Purchase.objects.count() == 1
    purchase = Purchase.objects.get()
    assert purchase == outcome.purchase
    assert (purchase.user, purchase.product, purchase.price, purchase.currency) == (ann, product, 50, "XTR")
    assert purchase.payment_id == "stars-charge-1"
    assert purchase.payment_type == Purchase.PaymentType.STARS
    assert purchase.status == Purchase.Status.PAID
    assert purchase.review_reason == ""
    assert purchase.gives_access
    assert user_owns_product(telegram_id=42, product_id=product.pk)


def test_payment_through_a_provider_keeps_the_provider_id(product, ann, rub):
    Product.objects.filter(pk=product.pk).update(price=990)
    product.refresh_from_db()
    outcome = pay(
        ann, payload_for(ann, product), total_amount=99000, currency="RUB", payment_id="tg-1", provider_payment_id="yk-77"
    )
    purchase = Purchase.objects.get()
    assert outcome.created and purchase == outcome.purchase
    assert (purchase.price, purchase.currency) == (990, "RUB")
    assert purchase.payment_type == Purchase.PaymentType.PROVIDER
    assert (purchase.payment_id, purchase.provider_payment_id) == ("tg-1", "yk-77")
    assert purchase.gives_access


def test_payment_is_recorded_at_the_invoice_price_not_todays(product, ann):
    payload = payload_for(ann, product)
    Product.objects.filter(pk=product.pk).update(price=80)
    outcome = pay(ann, payload, total_amount=50)
    assert outcome.purchase.price == 50
    assert outcome.purchase.gives_access


def test_the_same_payment_again_writes_nothing(product, ann):
    payload = payload_for(ann, product)
    first = pay(ann, payload)
    Purchase.objects.update(updated_at=timezone.now() - datetime.timedelta(days=1))
    before = Purchase.objects.values().get()
    with CaptureQueriesContext(connection) as queries:
        again = pay(ann, payload)
    assert not [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("UPDATE")]
    assert again.created is False
    assert again.purchase.pk == first.purchase.pk
    assert Purchase.objects.count() == 1
    assert UnmatchedPayment.objects.count() == 0
    assert Purchase.objects.values().get() == before


@pytest.mark.parametrize(
    ("total_amount", "currency", "reason_mentions"),
    [(49, "XTR", "paid 49"), (51, "XTR", "paid 51"), (5000, "RUB", "paid in RUB")],
)
def test_payment_not_matching_the_invoice_is_kept_for_review(product, ann, total_amount, currency, reason_mentions):
    outcome = pay(ann, payload_for(ann, product), total_amount=total_amount, currency=currency)
    purchase = Purchase.objects.get()
    assert outcome.created and purchase == outcome.purchase
    assert reason_mentions in purchase.review_reason
    assert purchase.currency == currency
    assert purchase.price == from_minor_units(total_amount, currency)[0]
    assert not purchase.gives_access
    assert not user_owns_product(telegram_id=42, product_id=product.pk)


def test_payment_by_someone_other_than_the_invoice_user_is_kept_for_review(product, ann, bob):
    outcome = pay(bob, payload_for(ann, product))
    purchase = Purchase.objects.get()
    assert outcome.created and purchase.user == bob
    assert "paid by 43" in purchase.review_reason
    assert not purchase.gives_access
    assert not user_owns_product(telegram_id=42, product_id=product.pk)
    assert not user_owns_product(telegram_id=43, product_id=product.pk)


def test_payment_with_a_kopeck_remainder_is_kept_for_review(product, ann, rub):
    Product.objects.filter(pk=product.pk).update(price=990)
    product.refresh_from_db()
    pay(ann, payload_for(ann, product), total_amount=99050, currency="RUB")
    purchase = Purchase.objects.get()
    assert "99050" in purchase.review_reason
    assert not purchase.gives_access


def test_payment_with_a_forged_payload_is_kept_as_unmatched(product, ann):
    forged = payload_for(ann, product).replace(":50:", ":1:", 1)
    outcome = pay(ann, forged, total_amount=1, payment_id="forged-1")
    again = pay(ann, forged, total_amount=1, payment_id="forged-1")
    assert Purchase.objects.count() == 0
    assert UnmatchedPayment.objects.count() == 1
    unmatched = UnmatchedPayment.objects.get()
    assert (outcome.purchase, outcome.created, outcome.unmatched) == (None, True, unmatched)
    assert (again.purchase, again.created, again.unmatched) == (None, False, unmatched)
    assert (unmatched.telegram_id, unmatched.amount, unmatched.currency) == (42, 1, "XTR")
    assert (unmatched.payment_id, unmatched.payload) == ("forged-1", forged)
    assert unmatched.reason


def test_payment_for_a_deleted_product_is_kept_as_unmatched(product, ann):
    payload = payload_for(ann, product)
    product.delete()
    outcome = pay(ann, payload, payment_id="gone-1", provider_payment_id="p-1")
    again = pay(ann, payload, payment_id="gone-1", provider_payment_id="p-1")
    assert Purchase.objects.count() == 0
    unmatched = UnmatchedPayment.objects.get()
    assert outcome.created is True and again.created is False
    assert outcome.unmatched == again.unmatched == unmatched
    assert (unmatched.amount, unmatched.provider_payment_id) == (50, "p-1")
    assert "no longer exists" in unmatched.reason


# --- recording concurrently ---


@pytest.mark.django_db(transaction=True)
def test_the_same_payment_recorded_by_many_threads_at_once_is_recorded_once(product, ann):
    payload = payload_for(ann, product)
    outcomes = run_at_once(lambda i: pay(ann, payload, payment_id="charge-race"), THREADS)
    assert Purchase.objects.count() == 1
    assert sum(outcome.created for outcome in outcomes) == 1
    assert {outcome.purchase.pk for outcome in outcomes} == {Purchase.objects.get().pk}


@pytest.mark.django_db(transaction=True)
def test_a_plain_payment_is_one_read_and_one_insert_and_its_repeat_changes_nothing(product, ann):
    """Outside any transaction, as the bot records it: the INSERT alone is the record (no transaction
    opened around it: SQLite's BEGIN would show here, PostgreSQL's is not a statement Django logs); a
    repeat finds it through the unique charge id and writes nothing."""
    payload = payload_for(ann, product)
    with CaptureQueriesContext(connection) as queries:
        first = pay(ann, payload, payment_id="plain-1")
    statements = [q["sql"].split()[0].upper() for q in queries.captured_queries]
    assert statements == ["SELECT", "INSERT"]
    with CaptureQueriesContext(connection) as queries:
        again = pay(ann, payload, payment_id="plain-1")
    assert [verb for verb in (q["sql"].split()[0].upper() for q in queries.captured_queries) if verb != "SELECT"] == ["INSERT"]
    assert (first.created, again.created, again.purchase.pk) == (True, False, first.purchase.pk)
    assert Purchase.objects.get().payment_id == "plain-1" and user_owns_product(
        telegram_id=ann.telegram_id, product_id=product.pk
    )


@pytest.mark.django_db(transaction=True)
def test_a_forged_payment_recorded_by_many_threads_at_once_is_kept_once(product, ann):
    forged = payload_for(ann, product) + "x"
    outcomes = run_at_once(lambda i: pay(ann, forged, payment_id="forged-race"), THREADS)
    assert Purchase.objects.count() == 0
    assert UnmatchedPayment.objects.count() == 1
    assert sum(outcome.created for outcome in outcomes) == 1


@pytest.mark.django_db(transaction=True)
def test_different_buyers_paying_at_once_all_get_their_purchase(product):
    buyers = [UserFactory(telegram_id=1000 + i) for i in range(THREADS)]
    payloads = [payload_for(buyer, product) for buyer in buyers]
    outcomes = run_at_once(lambda i: pay(buyers[i], payloads[i], payment_id=f"charge-{i}"), THREADS)
    assert all(outcome.created for outcome in outcomes)
    assert Purchase.objects.count() == THREADS
    assert all(user_owns_product(telegram_id=buyer.telegram_id, product_id=product.pk) for buyer in buyers)


@pytest.mark.django_db(transaction=True)
def test_two_buyers_paying_at_once_both_get_their_purchase(product, ann, bob):
    payloads = {0: (ann, payload_for(ann, product)), 1: (bob, payload_for(bob, product))}
    outcomes = run_at_once(lambda i: pay(payloads[i][0], payloads[i][1], payment_id=f"pair-{i}"), count=2)
    assert [outcome.created for outcome in outcomes] == [True, True]
    assert set(Purchase.objects.values_list("user__telegram_id", flat=True)) == {42, 43}


@pytest.mark.django_db(transaction=True)
def test_many_threads_taking_a_free_product_make_one_purchase(free_product, ann):
    results = run_at_once(lambda i: purchase_get_free(user=ann, product=free_product), THREADS)
    assert Purchase.objects.count() == 1
    assert sum(created for _, created in results) == 1


# --- free products ---


def test_free_product_asked_twice_is_one_purchase(free_product, ann):
    first, created = purchase_get_free(user=ann, product=free_product)
    again, created_again = purchase_get_free(user=ann, product=free_product)
    assert (created, created_again) == (True, False)
    assert first.pk == again.pk
    assert Purchase.objects.count() == 1
    assert first.payment_id == f"free:42:{free_product.pk}"
    assert (first.price, first.payment_type, first.status) == (0, Purchase.PaymentType.FREE, Purchase.Status.PAID)
    assert user_owns_product(telegram_id=42, product_id=free_product.pk)


def test_free_refuses_a_priced_product(product, ann):
    with pytest.raises(ValidationError):
        purchase_get_free(user=ann, product=product)
    assert Purchase.objects.count() == 0


def test_free_refuses_a_product_off_sale(free_product, ann):
    free_product.is_active = False
    free_product.save()
    with pytest.raises(ValidationError):
        purchase_get_free(user=ann, product=free_product)
    assert Purchase.objects.count() == 0


# --- grants by staff ---


def test_grant_creates_a_manual_purchase_with_its_own_payment_id(product, ann, bob):
    granted = [purchase_grant(user=user, product=product)[0] for user in (ann, bob)]
    assert Purchase.objects.count() == 2
    assert all(p.payment_type == Purchase.PaymentType.MANUAL and p.price == 0 and p.gives_access for p in granted)
    assert all(p.payment_id.startswith("manual:") for p in granted)
    assert granted[0].payment_id != granted[1].payment_id
    assert user_owns_product(telegram_id=42, product_id=product.pk)


def test_grant_refuses_what_the_user_already_owns(product, ann):
    paid_purchase(ann, product)
    with pytest.raises(ValidationError):
        purchase_grant(user=ann, product=product)
    assert Purchase.objects.count() == 1


def test_grant_after_a_refund_works(product, ann):
    purchase = paid_purchase(ann, product)
    purchase_mark_refunded(payment_id=purchase.payment_id)
    granted, created = purchase_grant(user=ann, product=product)
    assert created
    assert granted.gives_access
    assert user_owns_product(telegram_id=42, product_id=product.pk)


def test_a_grant_sent_again_with_its_token_is_the_same_grant(product, ann):
    first, created = purchase_grant(user=ann, product=product, token="a" * 32)
    again, created_again = purchase_grant(user=ann, product=product, token="a" * 32)

    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert first.payment_id == "manual:" + "a" * 32
    assert Purchase.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_grant_form_sent_by_many_threads_at_once_grants_once(product, ann):
    announced = []

    def receiver(sender, purchase_id, **kwargs):
        announced.append(purchase_id)

    signals.purchase_granted.connect(receiver, weak=False)
    try:
        results = run_at_once(lambda i: purchase_grant(user=ann, product=product, token="b" * 32), THREADS)
    finally:
        signals.purchase_granted.disconnect(receiver)

    assert Purchase.objects.count() == 1
    assert sum(created for _, created in results) == 1
    assert {purchase.pk for purchase, _ in results} == {Purchase.objects.get().pk}
    assert announced == [Purchase.objects.get().pk]  # one delivery: the customer gets it once


def test_a_grant_token_used_for_another_customer_is_refused(product, ann, bob):
    purchase_grant(user=ann, product=product, token="c" * 32)

    with pytest.raises(ValidationError):
        purchase_grant(user=bob, product=product, token="c" * 32)
    assert list(Purchase.objects.values_list("user__username", flat=True)) == ["ann"]


# --- refunds ---


class TelegramRefunds:
    """Stands for refund_star_payment: records the calls, or refuses like Telegram would."""

    def __init__(self, refuse: bool = False):
        self.calls: list[tuple[int, str]] = []
        self.refuse = refuse

    def __call__(self, telegram_id: int, payment_id: str) -> None:
        self.calls.append((telegram_id, payment_id))
        if self.refuse:
            raise ValidationError("Telegram refused the refund: CHARGE_ALREADY_REFUNDED")


def test_refund_asks_telegram_and_marks_the_purchase_refunded(product, ann):
    purchase = paid_purchase(ann, product, payment_id="stars-9")
    telegram = TelegramRefunds()
    refunded = purchase_refund(purchase=purchase, refund=telegram)
    assert telegram.calls == [(42, "stars-9")]
    assert refunded.status == Purchase.Status.REFUNDED
    assert refunded.refunded_at is not None
    stored = Purchase.objects.get()
    assert (stored.pk, stored.status, stored.price) == (purchase.pk, Purchase.Status.REFUNDED, 50)
    assert not stored.gives_access


def test_refund_refused_by_telegram_changes_nothing(product, ann):
    purchase = paid_purchase(ann, product)
    telegram = TelegramRefunds(refuse=True)
    with pytest.raises(ValidationError):
        purchase_refund(purchase=purchase, refund=telegram)
    assert len(telegram.calls) == 1
    stored = Purchase.objects.get()
    assert (stored.status, stored.refunded_at) == (Purchase.Status.PAID, None)
    assert user_owns_product(telegram_id=42, product_id=product.pk)


def test_refund_twice_is_refused_without_asking_telegram(product, ann):
    purchase = paid_purchase(ann, product)
    purchase_refund(purchase=purchase, refund=TelegramRefunds())
    telegram = TelegramRefunds()
    with pytest.raises(ValidationError):
        purchase_refund(purchase=purchase, refund=telegram)
    assert telegram.calls == []


def test_refund_of_a_purchase_already_refunded_elsewhere_is_refused_without_asking_telegram(product, ann):
    purchase = paid_purchase(ann, product)
    loaded_by_staff = Purchase.objects.get(pk=purchase.pk)  # e.g. an admin page opened before the refund
    purchase_refund(purchase=purchase, refund=TelegramRefunds())
    telegram = TelegramRefunds()
    with pytest.raises(ValidationError):
        purchase_refund(purchase=loaded_by_staff, refund=telegram)
    assert telegram.calls == []


def test_refund_of_a_purchase_telegram_already_reported_refunded_is_refused(product, ann):
    purchase = paid_purchase(ann, product)
    purchase_mark_refunded(payment_id=purchase.payment_id)  # refunded_payment arrived meanwhile
    telegram = TelegramRefunds()
    with pytest.raises(ValidationError):
        purchase_refund(purchase=purchase, refund=telegram)
    assert telegram.calls == []


def test_refund_of_free_or_granted_purchases_is_refused_without_asking_telegram(product, free_product, ann):
    free, _ = purchase_get_free(user=ann, product=free_product)
    granted, _ = purchase_grant(user=ann, product=product)
    telegram = TelegramRefunds()
    for purchase in (free, granted):
        with pytest.raises(ValidationError):
            purchase_refund(purchase=purchase, refund=telegram)
    assert telegram.calls == []
    assert set(Purchase.objects.values_list("status", flat=True)) == {Purchase.Status.PAID}


def test_refund_of_a_payment_under_review_works(product, ann):
    pay(ann, payload_for(ann, product), total_amount=49, payment_id="short-1")
    telegram = TelegramRefunds()
    refunded = purchase_refund(purchase=Purchase.objects.get(), refund=telegram)
    assert telegram.calls == [(42, "short-1")]
    assert refunded.status == Purchase.Status.REFUNDED


def test_refunded_payment_from_telegram_marks_the_purchase_once(product, ann):
    purchase = paid_purchase(ann, product, payment_id="stars-5")
    marked, changed = purchase_mark_refunded(payment_id="stars-5")
    assert changed is True
    assert marked.pk == purchase.pk
    assert marked.status == Purchase.Status.REFUNDED
    first_refunded_at = marked.refunded_at
    assert first_refunded_at is not None
    again, changed = purchase_mark_refunded(payment_id="stars-5")
    assert changed is False
    assert again.pk == purchase.pk
    assert again.refunded_at == first_refunded_at
    assert Purchase.objects.count() == 1


def test_refunded_payment_for_an_unknown_payment_is_none(product, ann):
    paid_purchase(ann, product)
    assert purchase_mark_refunded(payment_id="never-seen") == (None, False)
    assert Purchase.objects.get().status == Purchase.Status.PAID


def test_after_a_refund_the_product_is_no_longer_owned(product, ann):
    purchase = paid_purchase(ann, product)
    assert product_get_for_user(product_id=product.pk, telegram_id=42).owned is True
    assert list(purchase_list_for_user(telegram_id=42)) == [purchase]
    purchase_refund(purchase=purchase, refund=TelegramRefunds())
    assert product_get_for_user(product_id=product.pk, telegram_id=42).owned is False
    assert not user_owns_product(telegram_id=42, product_id=product.pk)
    assert list(purchase_list_for_user(telegram_id=42)) == []


def test_after_a_refund_a_product_off_sale_is_gone_for_the_buyer(product, ann):
    purchase = paid_purchase(ann, product)
    Product.objects.filter(pk=product.pk).update(is_active=False)
    assert product_get_for_user(product_id=product.pk, telegram_id=42).owned is True
    purchase_mark_refunded(payment_id=purchase.payment_id)
    assert product_get_for_user(product_id=product.pk, telegram_id=42) is None
