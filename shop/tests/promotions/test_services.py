"""Promo codes and referrals: the discount maths, every refusal, limits under concurrency, payments with a
code (held at pre-checkout, honoured when late), free products through a code, referral rules and rewards."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shop.access.models import Membership
from shop.invoices import InvoiceTerms, invoice_payload, invoice_terms
from shop.models import Purchase
from shop.money import to_minor_units
from shop.promotions import signals
from shop.promotions.models import AppliedPromoCode, PromoCode, PromoRedemption, Referral, ReferralReward
from shop.promotions.selectors import promo_codes_with_figures, referral_counts, referrals_with_revenue
from shop.promotions.services import (
    PromoRefused,
    Refusal,
    discounted_price,
    promo_applied_offer,
    promo_apply,
    promo_refusal,
    referral_code,
    referral_record,
    referral_reward_grant,
)
from shop.services.payments import (
    CheckoutRefusal,
    checkout_check,
    invoice_create,
    purchase_get_free_with_code,
    purchase_mark_refunded,
)
from shop.services.trial import trial_customer_forget
from shop.stock.models import StockUnit
from shop.testing.access import ChannelProductFactory
from shop.testing.concurrency import run_at_once
from shop.testing.factories import CategoryFactory, ProductFactory, StockProductFactory, UserFactory, stocked
from shop.testing.payments import pay
from shop.testing.promotions import PromoCodeFactory, ReferralFactory
from shop.trial import trial_customer_id

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def stars(settings):
    settings.SHOP_CURRENCY = "XTR"
    settings.SHOP_REFERRAL_REWARD_PERCENT = 15
    settings.SHOP_REFERRAL_REWARD_DAYS = 30


@pytest.fixture
def product():
    return ProductFactory(price=100)


def refusal(code, user, product=None):
    return promo_refusal(code=code, telegram_id=user.telegram_id, product=product)


def checkout(user, payload):
    terms = invoice_terms(payload)
    return checkout_check(
        telegram_id=user.telegram_id,
        payload=payload,
        currency=terms.currency,
        total_amount=to_minor_units(terms.total, terms.currency),
    )


def buy_with(user, product, code, *, charge="charge-1", quantity=1):
    """Invoice at the code's price, pre-checkout, payment: the outcome of recording it."""
    terms, payload = invoice_create(telegram_id=user.telegram_id, product=product, quantity=quantity, promo_code=code)
    assert checkout(user, payload) is None
    return pay(
        user, payload, total_amount=to_minor_units(terms.total, terms.currency), currency=terms.currency, payment_id=charge
    )


# --- the maths ---


@pytest.mark.parametrize(
    ("kind", "value", "price", "expected"),
    [
        ("percent", 10, 100, 90),
        ("percent", 15, 99, 85),  # 14.85 off: rounded down, the buyer pays 85
        ("percent", 50, 1, 1),  # never below one unit...
        ("percent", 99, 10, 1),
        ("percent", 100, 10, 0),  # ...unless the code takes all of it
        ("amount", 30, 100, 70),
        ("amount", 100, 100, 0),
        ("amount", 500, 100, 0),
    ],
)
@pytest.mark.parametrize("currency", ["XTR", "RUB"])
def test_discounted_price_per_currency(kind, value, price, expected, currency):
    assert discounted_price(price=price, code=PromoCode(kind=kind, value=value), currency=currency) == expected


def test_invoice_in_a_provider_currency_carries_the_discounted_price_in_minor_units(settings, product):
    settings.SHOP_CURRENCY = "RUB"
    ann = UserFactory()
    code = PromoCodeFactory(code="RUB20", value=20)
    terms, payload = invoice_create(telegram_id=ann.telegram_id, product=product, promo_code=code)
    assert (terms.price, terms.currency, terms.code) == (80, "RUB", "RUB20")
    assert checkout_check(telegram_id=ann.telegram_id, payload=payload, currency="RUB", total_amount=8000) is None
    outcome = pay(ann, payload, total_amount=8000, currency="RUB")
    assert (outcome.purchase.price, outcome.purchase.promo.list_price, outcome.purchase.promo.price_paid) == (80, 100, 80)


def test_a_payload_with_a_long_code_and_large_ids_fits_telegrams_128_bytes():
    terms = InvoiceTerms(2**52, 10**12, 9_999_999, "XTR", 9999, code="A" * 16)
    assert len(invoice_payload(terms).encode()) <= 128
    assert invoice_terms(invoice_payload(terms)) == terms


def test_a_payload_without_a_code_is_read_as_before():
    terms = invoice_terms(invoice_payload(InvoiceTerms(42, 7, 50, "XTR", 2)))
    assert (terms.price, terms.quantity, terms.code) == (50, 2, "")


# --- refusals ---


def test_codes_are_case_insensitive_and_unique_in_any_case(product):
    ann = UserFactory()
    PromoCodeFactory(code="SAVE10")
    assert promo_apply(user=ann, text="  save10 ", product=product).code == "SAVE10"
    with pytest.raises(Exception):  # noqa: B017  (the database refuses it)
        PromoCode.objects.create(code="save10", value=5)


def test_every_refusal_reason(product):
    ann, bob = UserFactory(), UserFactory()
    now = timezone.now()
    assert refusal(None, ann) == Refusal.UNKNOWN
    assert refusal(PromoCodeFactory(owner=bob), ann) == Refusal.UNKNOWN  # someone else's personal code
    assert refusal(PromoCodeFactory(is_active=False), ann) == Refusal.INACTIVE
    assert refusal(PromoCodeFactory(valid_from=now + timedelta(days=1)), ann) == Refusal.NOT_YET_VALID
    assert refusal(PromoCodeFactory(valid_until=now - timedelta(seconds=1)), ann) == Refusal.EXPIRED
    other = ProductFactory(category=CategoryFactory(category_name="Other"))
    only_other = PromoCodeFactory()
    only_other.products.add(other)
    assert refusal(only_other, ann, product) == Refusal.NOT_FOR_PRODUCT
    assert refusal(only_other, ann, other) is None
    by_category = PromoCodeFactory()
    by_category.categories.add(product.category)
    assert refusal(by_category, ann, product) is None
    assert refusal(by_category, ann, other) == Refusal.NOT_FOR_PRODUCT

    once = PromoCodeFactory(code="ONCE")
    buy_with(ann, product, once)
    assert refusal(once, ann, ProductFactory(price=10)) == Refusal.ALREADY_USED
    used_up = PromoCodeFactory(max_uses=1)
    buy_with(bob, product, used_up, charge="bob")
    assert refusal(used_up, ann) == Refusal.USED_UP
    first = PromoCodeFactory(first_purchase_only=True)
    assert refusal(first, UserFactory()) is None
    assert refusal(first, ann) == Refusal.FIRST_PURCHASE_ONLY


def test_a_refused_code_says_why_and_is_not_kept(product):
    ann = UserFactory()
    PromoCodeFactory(code="OLD", valid_until=timezone.now() - timedelta(days=1))
    with pytest.raises(PromoRefused) as refused:
        promo_apply(user=ann, text="old", product=product)
    assert (refused.value.reason, refused.value.code) == (Refusal.EXPIRED, "OLD")
    assert not AppliedPromoCode.objects.exists()


def test_an_applied_code_gives_the_offer_and_goes_once_used(product):
    ann = UserFactory()
    PromoCodeFactory(code="SAVE10")
    promo_apply(user=ann, text="save10")
    offer, refused = promo_applied_offer(telegram_id=ann.telegram_id, product=product)
    assert (offer.list_price, offer.price, refused) == (100, 90, None)
    buy_with(ann, product, offer.code)
    assert promo_applied_offer(telegram_id=ann.telegram_id, product=product) == (None, None)


# --- checkout and payment ---


def test_a_payment_with_a_code_records_list_price_price_paid_and_code(product):
    ann = UserFactory()
    code = PromoCodeFactory(code="SAVE10")
    purchase = buy_with(ann, product, code).purchase
    assert purchase.price == 90 and purchase.gives_access
    use = PromoRedemption.objects.get()
    assert (use.code, use.purchase, use.list_price, use.price_paid, use.note) == (code, purchase, 100, 90, "")


def test_the_same_payment_twice_is_one_purchase_and_one_use(product):
    ann = UserFactory()
    code = PromoCodeFactory()
    _terms, payload = invoice_create(telegram_id=ann.telegram_id, product=product, promo_code=code)
    assert checkout(ann, payload) is None
    first = pay(ann, payload, total_amount=90)
    again = pay(ann, payload, total_amount=90)
    assert (first.created, again.created, again.purchase.pk) == (True, False, first.purchase.pk)
    assert PromoRedemption.objects.count() == 1


def test_pre_checkout_refuses_a_code_that_can_no_longer_be_used(product):
    ann = UserFactory()
    code = PromoCodeFactory()
    _terms, payload = invoice_create(telegram_id=ann.telegram_id, product=product, promo_code=code)
    PromoCode.objects.filter(pk=code.pk).update(is_active=False)
    assert checkout(ann, payload) == CheckoutRefusal.PROMO_REFUSED


def test_pre_checkout_refuses_an_invoice_whose_code_changed_value(product):
    ann = UserFactory()
    code = PromoCodeFactory(value=10)
    _terms, payload = invoice_create(telegram_id=ann.telegram_id, product=product, promo_code=code)
    PromoCode.objects.filter(pk=code.pk).update(value=50)
    assert checkout(ann, payload) == CheckoutRefusal.PRICE_CHANGED


def test_a_payment_after_the_code_ran_out_is_honoured_at_the_price_paid_with_a_note(product):
    ann, bob = UserFactory(), UserFactory()
    code = PromoCodeFactory(max_uses=1)
    _terms, payload = invoice_create(telegram_id=ann.telegram_id, product=product, promo_code=code)
    assert checkout(ann, payload) is None
    PromoRedemption.objects.update(held_until=timezone.now() - timedelta(seconds=1))  # Ann's hold ran out
    buy_with(bob, product, code, charge="bob")  # and Bob took the last use
    outcome = pay(ann, payload, total_amount=90, payment_id="ann")
    assert outcome.created and outcome.purchase.price == 90 and outcome.purchase.gives_access
    assert "honoured after the code ran out" in outcome.purchase.promo.note
    assert pay(ann, payload, total_amount=90, payment_id="ann").created is False  # never recorded twice


@pytest.mark.django_db(transaction=True)
def test_twenty_checkouts_at_once_with_five_uses_left_hold_five():
    product = ProductFactory(price=100)
    code = PromoCodeFactory(max_uses=5)
    buyers = [UserFactory(telegram_id=7000 + i) for i in range(20)]
    payloads = [invoice_create(telegram_id=b.telegram_id, product=product, promo_code=code)[1] for b in buyers]

    answers = run_at_once(lambda i: checkout(buyers[i], payloads[i]), 20)

    assert answers.count(None) == 5
    assert answers.count(CheckoutRefusal.PROMO_REFUSED) == 15
    paid = [pay(buyers[i], payloads[i], total_amount=90, payment_id=f"c{i}") for i, a in enumerate(answers) if a is None]
    assert len(paid) == 5 and all(o.purchase.promo.note == "" for o in paid)
    assert PromoRedemption.objects.filter(purchase__isnull=False).count() == 5


@pytest.mark.django_db(transaction=True)
def test_twenty_customers_at_once_get_a_limited_free_code_five_times():
    product = StockProductFactory(price=10)
    stocked(product, 30)
    code = PromoCodeFactory(value=100, max_uses=5)
    buyers = [UserFactory(telegram_id=8000 + i) for i in range(20)]

    def get(i):
        try:
            return purchase_get_free_with_code(user=buyers[i], product=product, promo_code=code)[0]
        except PromoRefused as refused:
            return refused.reason

    results = run_at_once(get, 20)

    assert len([r for r in results if isinstance(r, Purchase)]) == 5
    assert results.count(Refusal.USED_UP) == 15
    assert StockUnit.objects.filter(purchase__isnull=False).count() == 5


def test_a_stock_product_with_a_code_holds_units_and_a_use(product):
    keys = StockProductFactory(price=10, max_per_order=5)
    stocked(keys, 3)
    ann = UserFactory()
    code = PromoCodeFactory(value=20)
    outcome = buy_with(ann, keys, code, quantity=2)
    assert (outcome.purchase.quantity, outcome.purchase.price) == (2, 16)
    assert outcome.purchase.units.count() == 2
    assert (outcome.purchase.promo.list_price, outcome.purchase.promo.price_paid) == (20, 16)


def test_stock_too_short_at_pre_checkout_frees_the_codes_use():
    keys = StockProductFactory(price=10, max_per_order=5)
    stocked(keys, 1)
    ann = UserFactory()
    code = PromoCodeFactory(max_uses=1)
    _terms, payload = invoice_create(telegram_id=ann.telegram_id, product=keys, quantity=1, promo_code=code)
    StockUnit.objects.update(reservation="someone", reserved_until=timezone.now() + timedelta(minutes=5))
    assert checkout(ann, payload) == CheckoutRefusal.SOLD_OUT
    assert not PromoRedemption.objects.exists()


def test_a_code_making_a_product_free_takes_the_free_path_and_not_an_invoice(product):
    ann = UserFactory()
    code = PromoCodeFactory(kind="amount", value=100)
    with pytest.raises(ValidationError):
        invoice_create(telegram_id=ann.telegram_id, product=product, promo_code=code)
    purchase, _created = purchase_get_free_with_code(user=ann, product=product, promo_code=code)
    assert (purchase.price, purchase.payment_type, purchase.gives_access) == (0, "free", True)
    assert (purchase.promo.list_price, purchase.promo.price_paid) == (100, 0)
    with pytest.raises(PromoRefused):
        purchase_get_free_with_code(user=ann, product=ProductFactory(price=100), promo_code=code)


def test_admin_figures_count_uses_revenue_and_discount(product):
    code = PromoCodeFactory(code="SAVE10")
    buy_with(UserFactory(), product, code, charge="a")
    refunded = buy_with(UserFactory(), product, code, charge="b").purchase
    purchase_mark_refunded(payment_id=refunded.payment_id)
    row = promo_codes_with_figures().get(pk=code.pk)
    assert (row.uses, row.revenue, row.discount) == (2, 90, 10)


# --- referrals ---


def test_a_referral_is_recorded_at_first_start_only_and_never_for_oneself():
    ann, bob, carol = UserFactory(), UserFactory(), UserFactory()
    assert referral_record(referred=ann, code=referral_code(user=ann), first_start=True) is None
    assert referral_record(referred=bob, code=referral_code(user=ann), first_start=False) is None
    assert referral_record(referred=bob, code="1_deadbeef", first_start=True) is None  # forged
    assert referral_record(referred=bob, code=referral_code(user=ann), first_start=True).referrer == ann
    assert referral_record(referred=bob, code=referral_code(user=carol), first_start=True) is None  # once
    assert Referral.objects.get().referrer == ann


def test_referrals_never_make_a_loop():
    ann, bob, carol = UserFactory(), UserFactory(), UserFactory()
    ReferralFactory(referrer=ann, referred=bob)
    ReferralFactory(referrer=bob, referred=carol)
    assert referral_record(referred=ann, code=referral_code(user=carol), first_start=True) is None
    assert referral_record(referred=ann, code=referral_code(user=bob), first_start=True) is None
    assert not Referral.objects.filter(referred=ann).exists()


def test_the_first_paid_purchase_rewards_the_referrer_once_even_when_paid_twice(product):
    ann, bob = UserFactory(), UserFactory()
    ReferralFactory(referrer=ann, referred=bob)
    announced = []
    signals.referral_rewarded.connect(lambda sender, **kw: announced.append(kw), weak=False, dispatch_uid="t")
    try:
        _terms, payload = invoice_create(telegram_id=bob.telegram_id, product=product)
        pay(bob, payload, total_amount=100, payment_id="bob-1")
        pay(bob, payload, total_amount=100, payment_id="bob-1")  # Telegram repeats the update
        _terms, payload = invoice_create(telegram_id=bob.telegram_id, product=ProductFactory(price=5))
        pay(bob, payload, total_amount=5, payment_id="bob-2")  # a second purchase earns nothing more
    finally:
        signals.referral_rewarded.disconnect(dispatch_uid="t")
    reward = ReferralReward.objects.get()
    assert len(announced) == 1 and announced[0]["reward_id"] == reward.pk
    code = reward.code
    assert (code.owner, code.kind, code.value, code.max_uses) == (ann, "percent", 15, 1)
    assert timedelta(days=29) < code.valid_until - timezone.now() <= timedelta(days=30)
    assert refusal(code, bob) == Refusal.UNKNOWN  # personal: Ann's only
    assert buy_with(ann, ProductFactory(price=100), code, charge="ann").purchase.price == 85
    assert referral_counts(telegram_id=ann.telegram_id) == (1, 1)
    assert referrals_with_revenue().get().revenue == 105


@pytest.mark.django_db(transaction=True)
def test_a_referred_customer_paying_two_invoices_at_once_rewards_the_referrer_once(product):
    ann, bob = UserFactory(), UserFactory()
    ReferralFactory(referrer=ann, referred=bob)
    payloads = [invoice_create(telegram_id=bob.telegram_id, product=p)[1] for p in (product, ProductFactory(price=100))]
    outcomes = run_at_once(lambda i: pay(bob, payloads[i], total_amount=100, payment_id=f"bob-{i}"), 2)
    assert [outcome.created for outcome in outcomes] == [True, True]
    assert Purchase.objects.filter(user=bob).count() == 2
    reward = ReferralReward.objects.get()
    assert reward.purchase_id in {outcome.purchase.pk for outcome in outcomes}
    assert PromoCode.objects.filter(owner=ann).count() == 1


def test_once_the_referrer_is_rewarded_a_payment_reads_no_more_than_anyone_elses(product):
    ann, bob, carol = UserFactory(), UserFactory(), UserFactory()
    ReferralFactory(referrer=ann, referred=bob)
    _terms, payload = invoice_create(telegram_id=bob.telegram_id, product=product)
    pay(bob, payload, total_amount=100, payment_id="bob-1")
    assert ReferralReward.objects.count() == 1

    def statements(buyer, charge):
        _terms, payload = invoice_create(telegram_id=buyer.telegram_id, product=ProductFactory(price=5))
        with CaptureQueriesContext(connection) as queries:
            assert pay(buyer, payload, total_amount=5, payment_id=charge).created
        return len(queries)

    assert statements(bob, "bob-2") == statements(carol, "carol-1")  # Carol was brought by nobody
    assert ReferralReward.objects.count() == 1


def test_a_free_purchase_earns_no_reward(product):
    ann, bob = UserFactory(), UserFactory()
    ReferralFactory(referrer=ann, referred=bob)
    free = Purchase.objects.create(user=bob, product=product, price=0, currency="XTR", payment_type="free", payment_id="f")
    assert referral_reward_grant(purchase=free) is None


def test_a_refunded_first_purchase_withdraws_an_unused_reward(product):
    ann, bob = UserFactory(), UserFactory()
    ReferralFactory(referrer=ann, referred=bob)
    _terms, payload = invoice_create(telegram_id=bob.telegram_id, product=product)
    purchase = pay(bob, payload, total_amount=100, payment_id="bob-1").purchase
    purchase_mark_refunded(payment_id=purchase.payment_id)
    reward = ReferralReward.objects.get()
    assert reward.withdrawn_at is not None
    assert refusal(reward.code, ann) == Refusal.INACTIVE


def test_a_used_reward_is_not_withdrawn(product):
    ann, bob = UserFactory(), UserFactory()
    ReferralFactory(referrer=ann, referred=bob)
    _terms, payload = invoice_create(telegram_id=bob.telegram_id, product=product)
    purchase = pay(bob, payload, total_amount=100, payment_id="bob-1").purchase
    buy_with(ann, ProductFactory(price=100), ReferralReward.objects.get().code, charge="ann")
    purchase_mark_refunded(payment_id=purchase.payment_id)
    assert ReferralReward.objects.get().withdrawn_at is None


def test_rewards_off_when_the_percent_is_zero(settings, product):
    settings.SHOP_REFERRAL_REWARD_PERCENT = 0
    ann, bob = UserFactory(), UserFactory()
    ReferralFactory(referrer=ann, referred=bob)
    _terms, payload = invoice_create(telegram_id=bob.telegram_id, product=product)
    pay(bob, payload, total_amount=100, payment_id="bob-1")
    assert not ReferralReward.objects.exists()


def test_no_promo_code_applies_to_chat_access_neither_at_invoice_nor_free_nor_at_checkout():
    """Chat access sells at its price: the card shows no code, so Buy, a free order and the checkout take none."""
    from shop.testing.access import ChannelProductFactory, SubscriptionProductFactory

    ann = UserFactory()
    code = PromoCodeFactory(code="CLUB", value=100)
    for product in (ChannelProductFactory(price=50), SubscriptionProductFactory(price=50)):
        code.products.add(product)  # even a code made for this very product
        assert promo_refusal(code=code, telegram_id=ann.telegram_id, product=product) == Refusal.NOT_FOR_PRODUCT
        with pytest.raises(PromoRefused) as refused:
            invoice_create(telegram_id=ann.telegram_id, product=product, promo_code=code)
        assert refused.value.reason == Refusal.NOT_FOR_PRODUCT
        with pytest.raises(PromoRefused):
            purchase_get_free_with_code(user=ann, product=product, promo_code=code)
    assert not Purchase.objects.exists() and not PromoRedemption.objects.exists()


# --- found in review: refunds, declined cards, Try the bot, chat access, double presses ---


def test_a_refunded_purchase_gives_its_use_of_the_code_back(product):
    ann = UserFactory()
    code = PromoCodeFactory(code="ONCE", value=50, max_uses=1)
    outcome = buy_with(ann, product, code, charge="stx-1")
    assert refusal(code, ann, product) == Refusal.ALREADY_USED
    purchase_mark_refunded(payment_id=outcome.purchase.payment_id)
    assert refusal(code, ann, product) is None  # the money went back, and so did the code's only use
    assert refusal(code, UserFactory(), product) is None
    assert buy_with(ann, product, code, charge="stx-2").purchase.promo.note == ""


def test_a_reward_code_used_on_a_refunded_purchase_can_be_used_again(product):
    ann, bob = UserFactory(), UserFactory()
    ReferralFactory(referrer=ann, referred=bob)
    buy_with(bob, ProductFactory(price=100), None, charge="bob")
    reward = ReferralReward.objects.get().code
    used = buy_with(ann, product, reward, charge="ann-1").purchase
    purchase_mark_refunded(payment_id=used.payment_id)
    assert buy_with(ann, product, reward, charge="ann-2").purchase.promo.note == ""


def test_a_declined_card_does_not_cost_the_customer_their_code(product):
    ann = UserFactory()
    code = PromoCodeFactory(code="HALF", value=50, max_uses=1)
    promo_apply(user=ann, text="half", product=product)
    _terms, payload = invoice_create(telegram_id=ann.telegram_id, product=product, promo_code=code)
    assert checkout(ann, payload) is None  # Pay pressed: a use held... and the card is declined
    offer, refused = promo_applied_offer(telegram_id=ann.telegram_id, product=product)  # Buy pressed again
    assert refused is None and offer.price == 50
    _terms, payload = invoice_create(telegram_id=ann.telegram_id, product=product, promo_code=code)
    assert checkout(ann, payload) is None  # the new invoice's hold replaces the old one
    assert PromoRedemption.objects.count() == 1
    assert pay(ann, payload, total_amount=50, payment_id="ann").purchase.promo.note == ""
    assert refusal(code, UserFactory(), product) == Refusal.USED_UP


def test_another_customers_unpaid_hold_still_counts(product):
    ann, bob = UserFactory(), UserFactory()
    code = PromoCodeFactory(max_uses=1)
    _terms, payload = invoice_create(telegram_id=ann.telegram_id, product=product, promo_code=code)
    assert checkout(ann, payload) is None
    assert refusal(code, bob, product) == Refusal.USED_UP
    bobs = invoice_payload(InvoiceTerms(bob.telegram_id, product.pk, 90, "XTR", code=code.code))  # an invoice from before
    assert checkout(bob, bobs) == CheckoutRefusal.PROMO_REFUSED


def make_tester():
    return UserFactory(telegram_id=trial_customer_id(staff_id=1))


def test_a_test_payment_with_a_code_takes_no_real_use_of_it(product):
    code = PromoCodeFactory(code="LAUNCH", value=50, max_uses=1)
    staff = make_tester()
    promo_apply(user=staff, text="launch", product=product)
    _terms, payload = invoice_create(telegram_id=staff.telegram_id, product=product, promo_code=code)
    assert checkout(staff, payload) is None
    outcome = pay(staff, payload, total_amount=50, payment_id="test:1")
    assert outcome.purchase.payment_type == Purchase.PaymentType.TEST
    assert not PromoRedemption.objects.exists() and not AppliedPromoCode.objects.exists()
    assert refusal(code, UserFactory(), product) is None  # a real customer still has the launch code's use
    row = promo_codes_with_figures().get(pk=code.pk)
    assert (row.uses, row.revenue) == (0, 0)
    trial_customer_forget(telegram_id=staff.telegram_id)  # Start over works
    assert not Purchase.objects.exists()


def test_a_test_checkout_still_follows_the_codes_rules(product):
    code = PromoCodeFactory(value=50, max_uses=1)
    buy_with(UserFactory(), product, code, charge="real")
    staff = make_tester()
    payload = invoice_payload(InvoiceTerms(staff.telegram_id, product.pk, 50, "XTR", code=code.code))
    assert checkout(staff, payload) == CheckoutRefusal.PROMO_REFUSED


def test_a_code_making_stock_free_for_a_test_customer_is_a_test_purchase_taking_no_real_units():
    keys = StockProductFactory(price=5)
    stocked(keys, 1)
    code = PromoCodeFactory(value=100, max_uses=1)
    purchase, created = purchase_get_free_with_code(user=make_tester(), product=keys, promo_code=code)
    assert created and purchase.payment_type == Purchase.PaymentType.TEST
    assert purchase.payment_id.startswith("test:")
    assert not StockUnit.objects.filter(purchase__isnull=False).exists()
    assert not PromoRedemption.objects.exists()


def test_a_code_cannot_make_chat_access_free():
    """Codes do not apply to chat access (it sells at its price): a free order by code is refused, nothing made."""
    ann = UserFactory()
    club = ChannelProductFactory(price=50)
    code = PromoCodeFactory(value=100)
    with pytest.raises(PromoRefused):
        purchase_get_free_with_code(user=ann, product=club, promo_code=code)
    assert not Purchase.objects.exists() and not Membership.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_double_press_on_a_free_code_gives_one_product():
    product = ProductFactory(price=100)
    ann = UserFactory()
    code = PromoCodeFactory(value=100, per_customer=2)
    results = run_at_once(lambda i: purchase_get_free_with_code(user=ann, product=product, promo_code=code), 2)
    assert Purchase.objects.count() == 1 and PromoRedemption.objects.count() == 1
    assert sorted(created for _purchase, created in results) == [False, True]
    assert results[0][0].pk == results[1][0].pk


@pytest.mark.django_db(transaction=True)
def test_a_double_press_on_a_once_per_customer_free_code_gives_one_unit():
    keys = StockProductFactory(price=10)
    stocked(keys, 5)
    ann = UserFactory()
    code = PromoCodeFactory(value=100, per_customer=1)

    def get(i):
        try:
            return purchase_get_free_with_code(user=ann, product=keys, promo_code=code)[0]
        except PromoRefused as refused:
            return refused.reason

    results = run_at_once(get, 2)
    assert Refusal.ALREADY_USED in results
    assert StockUnit.objects.filter(purchase__isnull=False).count() == 1


def test_a_test_customer_is_never_recorded_as_brought_or_bringing():
    ann, staff = UserFactory(), make_tester()
    assert referral_record(referred=staff, code=referral_code(user=ann), first_start=True) is None
    assert referral_record(referred=UserFactory(), code=referral_code(user=staff), first_start=True) is None
    assert not Referral.objects.exists()


def test_start_over_forgets_a_test_customers_referrals_and_older_code_uses(product):
    ann, staff = UserFactory(), make_tester()
    Referral.objects.create(referrer=ann, referred=staff)  # recorded before test customers were left out
    code = PromoCodeFactory(value=50)
    purchase = Purchase.objects.create(
        user=staff, product=product, price=50, currency="XTR", payment_type="test", payment_id="test:1"
    )
    PromoRedemption.objects.create(code=code, user=staff, purchase=purchase)  # a use recorded before the fix
    trial_customer_forget(telegram_id=staff.telegram_id)
    assert not Referral.objects.exists() and not PromoRedemption.objects.exists()
    assert list(Purchase.objects.all()) == [] and ann in type(ann).objects.all()
