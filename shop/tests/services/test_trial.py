"""Test customers and test payments (shop/trial.py, shop/services/trial.py): recorded only for a test
customer paying with a test charge id, and forgotten or deleted without touching real purchases."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from shop.invoices import InvoiceTerms, invoice_payload
from shop.models import Purchase, User
from shop.services.payments import checkout_check, purchase_get_free, purchase_record_payment
from shop.services.trial import trial_customer_forget, trial_purchases_delete
from shop.stock.models import StockUnit
from shop.testing.factories import ProductFactory, PurchaseFactory, StockProductFactory, StockUnitFactory, UserFactory
from shop.trial import TEST_IDS_UP_TO, is_test_customer, trial_customer_id

pytestmark = pytest.mark.django_db


def pay(user: User, product, *, charge_id: str):
    payload = invoice_payload(InvoiceTerms(user.telegram_id, product.pk, product.price, "XTR"))
    return purchase_record_payment(user=user, payload=payload, currency="XTR", total_amount=product.price, payment_id=charge_id)


def test_test_customer_ids_are_ones_telegram_never_gives():
    assert trial_customer_id(staff_id=1) == -(2**52) - 1
    assert is_test_customer(trial_customer_id(staff_id=1))
    for real in (42, 2**52 - 1, -1001234567890, -(2**52) + 1, None):  # a user, a channel, not a test id
        assert not is_test_customer(real)
    assert TEST_IDS_UP_TO == -(2**52)


def test_only_a_test_customer_with_a_test_charge_id_pays_a_test_payment():
    product = ProductFactory(price=10)
    tester = UserFactory(telegram_id=trial_customer_id(staff_id=1))
    real = UserFactory(telegram_id=42)

    assert pay(tester, product, charge_id="test:1").purchase.payment_type == "test"
    from_real = pay(real, product, charge_id="test:2").purchase
    assert (from_real.payment_type, bool(from_real.review_reason)) == ("stars", True)  # money: for staff to look at
    other = pay(UserFactory(telegram_id=trial_customer_id(staff_id=2)), product, charge_id="stx-3").purchase
    assert (other.payment_type, bool(other.review_reason)) == ("stars", True)


def test_the_database_refuses_a_test_payment_without_a_test_charge_id():
    with pytest.raises(IntegrityError):
        PurchaseFactory(payment_type=Purchase.PaymentType.TEST, payment_id="stx-real")


def test_a_test_checkout_holds_no_units_and_a_test_payment_takes_none():
    product = StockProductFactory(price=5)
    unit = StockUnitFactory(product=product)
    tester = UserFactory(telegram_id=trial_customer_id(staff_id=1))
    payload = invoice_payload(InvoiceTerms(tester.telegram_id, product.pk, 5, "XTR"))

    assert checkout_check(telegram_id=tester.telegram_id, payload=payload, currency="XTR", total_amount=5) is None
    purchase_record_payment(user=tester, payload=payload, currency="XTR", total_amount=5, payment_id="test:1")

    unit.refresh_from_db()
    assert (unit.purchase, unit.reserved_until) == (None, None)
    StockUnit.objects.all().delete()
    refusal = checkout_check(telegram_id=tester.telegram_id, payload=payload, currency="XTR", total_amount=5)
    assert refusal == "sold_out"  # a sold-out product is refused in a test too


def test_a_free_product_taken_by_a_test_customer_is_a_test_purchase():
    tester = UserFactory(telegram_id=trial_customer_id(staff_id=1))
    purchase, created = purchase_get_free(user=tester, product=ProductFactory(price=0))
    assert created and purchase.payment_type == "test"


def test_forgetting_a_test_customer_takes_their_test_purchases_and_nothing_else():
    product = ProductFactory(price=10)
    tester = UserFactory(telegram_id=trial_customer_id(staff_id=1))
    pay(tester, product, charge_id="test:1")
    real = PurchaseFactory(product=product, payment_id="stx-1")

    trial_customer_forget(telegram_id=tester.telegram_id)

    assert list(Purchase.objects.all()) == [real]
    assert list(User.objects.all()) == [real.user]
    with pytest.raises(ValidationError):
        trial_customer_forget(telegram_id=real.user.telegram_id)


def test_deleting_test_purchases_never_deletes_a_real_one():
    product = ProductFactory(price=10)
    tester = UserFactory(telegram_id=trial_customer_id(staff_id=1))
    test = pay(tester, product, charge_id="test:1").purchase
    real = PurchaseFactory(product=product, payment_id="stx-1")

    assert trial_purchases_delete(purchases=[test, real]) == 1
    assert list(Purchase.objects.all()) == [real]


# --- Start over after what else a test customer can do (promo codes, chat access, referral links) ---


def test_start_over_after_a_test_payment_with_a_promo_code():
    from shop.promotions.models import PromoRedemption
    from shop.services.payments import invoice_create
    from shop.testing.promotions import PromoCodeFactory

    product = ProductFactory(price=100)
    code = PromoCodeFactory(code="LAUNCH", value=50)
    tester = UserFactory(telegram_id=trial_customer_id(staff_id=1))
    _terms, payload = invoice_create(telegram_id=tester.telegram_id, product=product, promo_code=code)
    assert checkout_check(telegram_id=tester.telegram_id, payload=payload, currency="XTR", total_amount=50) is None
    purchase_record_payment(user=tester, payload=payload, currency="XTR", total_amount=50, payment_id="test:1")

    trial_customer_forget(telegram_id=tester.telegram_id)

    assert not Purchase.objects.exists()
    assert not User.objects.filter(telegram_id=tester.telegram_id).exists()
    assert not PromoRedemption.objects.exists()
    code.refresh_from_db()  # the code itself stays for real customers


def test_start_over_after_a_test_payment_for_chat_access():
    from shop.access.models import AccessPeriod, Membership
    from shop.testing.access import ChannelProductFactory

    product = ChannelProductFactory(price=50)
    tester = UserFactory(telegram_id=trial_customer_id(staff_id=1))
    pay(tester, product, charge_id="test:1")

    trial_customer_forget(telegram_id=tester.telegram_id)

    assert not Purchase.objects.exists()
    assert not User.objects.filter(telegram_id=tester.telegram_id).exists()
    assert not Membership.objects.exists() and not AccessPeriod.objects.exists()


def test_start_over_after_a_membership_left_from_before():
    """A membership (with its paid period) a test customer got before test payments stopped making them."""
    from shop.access.models import AccessPeriod, Membership
    from shop.testing.access import ChannelProductFactory

    product = ChannelProductFactory(price=50)
    tester = UserFactory(telegram_id=trial_customer_id(staff_id=1))
    purchase = pay(tester, product, charge_id="test:1").purchase
    membership = Membership.objects.create(user=tester, product=product, since=purchase.created_at, for_good=True)
    AccessPeriod.objects.get_or_create(purchase=purchase, defaults={"membership": membership, "starts": purchase.created_at})

    trial_customer_forget(telegram_id=tester.telegram_id)

    assert not Membership.objects.exists() and not AccessPeriod.objects.exists()
    assert not User.objects.filter(telegram_id=tester.telegram_id).exists()


def test_start_over_after_opening_a_referral_link_and_applying_a_code(ann):
    from shop.promotions.models import AppliedPromoCode, Referral
    from shop.testing.promotions import PromoCodeFactory

    tester = UserFactory(telegram_id=trial_customer_id(staff_id=1))
    Referral.objects.create(referrer=ann, referred=tester)  # /start r<Ann's code> typed in Try the bot
    AppliedPromoCode.objects.create(user=tester, code=PromoCodeFactory(code="SPRING"))

    trial_customer_forget(telegram_id=tester.telegram_id)

    assert not User.objects.filter(telegram_id=tester.telegram_id).exists()
    assert not Referral.objects.exists()
    assert User.objects.filter(pk=ann.pk).exists()  # the real customer stays


def test_staff_delete_a_test_purchase_made_with_a_promo_code():
    from shop.promotions.models import PromoRedemption
    from shop.services.payments import invoice_create
    from shop.testing.promotions import PromoCodeFactory

    product = ProductFactory(price=100)
    code = PromoCodeFactory(code="LAUNCH", value=50)
    tester = UserFactory(telegram_id=trial_customer_id(staff_id=1))
    _terms, payload = invoice_create(telegram_id=tester.telegram_id, product=product, promo_code=code)
    purchase = purchase_record_payment(
        user=tester, payload=payload, currency="XTR", total_amount=50, payment_id="test:1"
    ).purchase

    assert trial_purchases_delete(purchases=[purchase]) == 1
    assert not Purchase.objects.exists() and not PromoRedemption.objects.exists()
