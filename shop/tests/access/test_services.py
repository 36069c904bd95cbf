"""Chat access: what each payment pays for, renewals recorded once, refunds, cancellation, expiry at the boundary,
and what staff may change by hand."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from shop.access.models import RENEWAL_GRACE, SUBSCRIPTION_PERIOD, AccessPeriod, Membership
from shop.access.selectors import membership_get, membership_paid_for_chat, memberships_due
from shop.access.services import (
    chat_access_check_price,
    membership_extend,
    membership_mark_removed,
    membership_revoke,
    membership_set_renewing,
    memberships_expire,
)
from shop.models import Purchase
from shop.selectors.catalog import product_get_for_user
from shop.selectors.purchases import purchase_list_for_user, purchase_totals_by_currency
from shop.services.delivery import purchase_request_delivery
from shop.services.payments import CheckoutRefusal, checkout_check, purchase_grant, purchase_mark_refunded
from shop.testing.access import CHAT_ID, ChannelProductFactory, SubscriptionProductFactory
from shop.testing.concurrency import run_at_once
from shop.testing.payments import pay, payload_for

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)


def subscribe(user, product, *, charge: str, expires_at: datetime, renewal: bool = False, payload: str | None = None):
    return pay(
        user,
        payload or payload_for(user, product),
        total_amount=product.price,
        payment_id=charge,
        renewal=renewal,
        subscription_expires_at=expires_at,
    )


def owns(user, product) -> bool:
    found = product_get_for_user(product_id=product.pk, telegram_id=user.telegram_id)
    return bool(found and found.owned)


def test_access_for_good_is_paid_once_and_lasts(ann):
    product = ChannelProductFactory()
    payload = payload_for(ann, product)

    outcome = pay(ann, payload, total_amount=50, payment_id="c-1")

    membership = membership_get(telegram_id=ann.telegram_id, product_id=product.pk)
    assert membership.state == Membership.State.ACTIVE and membership.for_good and membership.until is None
    assert outcome.purchase.access_period.ends is None
    assert owns(ann, product)
    assert checkout_check(telegram_id=ann.telegram_id, payload=payload, currency="XTR", total_amount=50) == (
        CheckoutRefusal.ALREADY_OWNED
    )
    assert not memberships_due(now=timezone.now() + timedelta(days=3650)).exists()
    assert membership_paid_for_chat(telegram_id=ann.telegram_id, chat_id=CHAT_ID) == membership


def test_a_subscription_is_paid_until_telegrams_date_and_each_renewal_extends_it_once(ann):
    product = SubscriptionProductFactory(price=100)
    first_end = timezone.now() + SUBSCRIPTION_PERIOD
    payload = payload_for(ann, product)
    subscribe(ann, product, charge="sub-1", expires_at=first_end, payload=payload)

    second_end = first_end + SUBSCRIPTION_PERIOD
    renewal = subscribe(ann, product, charge="sub-2", expires_at=second_end, renewal=True, payload=payload)
    again = subscribe(ann, product, charge="sub-2", expires_at=second_end, renewal=True, payload=payload)  # sent twice

    assert renewal.created and not again.created and again.purchase == renewal.purchase
    assert renewal.purchase.review_reason == ""  # a renewal is not "paid twice"
    membership = membership_get(telegram_id=ann.telegram_id, product_id=product.pk)
    assert membership.paid_until == second_end and membership.renewing
    assert membership.subscription_charge_id == "sub-1"  # the subscription keeps its first payment's id
    assert AccessPeriod.objects.filter(membership=membership).count() == 2
    (total,) = purchase_totals_by_currency(purchases=Purchase.objects.all())
    assert (total.purchases, total.paid.amount) == (2, 200)  # revenue counts each renewal
    # My purchases lists the subscription once, not once a month
    assert [p.payment_id for p in purchase_list_for_user(telegram_id=ann.telegram_id)] == ["sub-1"]


@pytest.mark.django_db(transaction=True)
def test_a_renewal_delivered_to_two_workers_at_once_is_recorded_once(ann):
    product = SubscriptionProductFactory(price=100)
    end = timezone.now() + SUBSCRIPTION_PERIOD
    payload = payload_for(ann, product)
    subscribe(ann, product, charge="sub-1", expires_at=end, payload=payload)

    outcomes = run_at_once(
        lambda i: subscribe(ann, product, charge="sub-2", expires_at=end + SUBSCRIPTION_PERIOD, renewal=True, payload=payload), 4
    )

    assert sum(o.created for o in outcomes) == 1
    assert Purchase.objects.filter(payment_id="sub-2").count() == 1
    assert AccessPeriod.objects.count() == 2
    assert membership_get(telegram_id=ann.telegram_id, product_id=product.pk).paid_until == end + SUBSCRIPTION_PERIOD


@pytest.mark.django_db(transaction=True)
def test_payments_for_the_same_access_at_the_same_moment_make_one_membership(ann):
    product = ChannelProductFactory()
    payloads = [payload_for(ann, product) for _ in range(4)]

    outcomes = run_at_once(lambda i: pay(ann, payloads[i], total_amount=product.price, payment_id=f"c-{i}"), 4)

    assert all(o.created for o in outcomes) and Purchase.objects.count() == 4  # every payment recorded
    assert Membership.objects.count() == 1
    with_period = set(AccessPeriod.objects.values_list("purchase__payment_id", flat=True))
    assert with_period == {o.purchase.payment_id for o in outcomes if not o.purchase.review_reason}  # the rest: paid twice
    assert with_period


def test_expiry_exactly_at_the_end_of_a_cancelled_subscription(ann):
    product = SubscriptionProductFactory()
    end = T0 + SUBSCRIPTION_PERIOD
    subscribe(ann, product, charge="sub-1", expires_at=end)
    membership = membership_get(telegram_id=ann.telegram_id, product_id=product.pk)
    membership_set_renewing(membership=membership, renewing=False)

    assert memberships_expire(now=end - timedelta(microseconds=1)) == []  # paid to the last moment
    (ended,) = memberships_expire(now=end)

    assert ended.pk == membership.pk and ended.end_reason == Membership.EndReason.NOT_RENEWED
    assert memberships_expire(now=end) == []  # ended once
    assert membership_paid_for_chat(telegram_id=ann.telegram_id, chat_id=CHAT_ID, now=end) is None


def test_a_renewing_subscription_waits_for_its_renewal_a_little(ann):
    product = SubscriptionProductFactory()
    end = T0 + SUBSCRIPTION_PERIOD
    subscribe(ann, product, charge="sub-1", expires_at=end)

    assert memberships_expire(now=end + RENEWAL_GRACE - timedelta(seconds=1)) == []
    (ended,) = memberships_expire(now=end + RENEWAL_GRACE)
    assert ended.end_reason == Membership.EndReason.NOT_RENEWED


def test_a_refund_ends_access_now_and_the_customer_may_buy_again(ann):
    product = ChannelProductFactory()
    payload = payload_for(ann, product)
    pay(ann, payload, total_amount=50, payment_id="c-1")

    _purchase, changed = purchase_mark_refunded(payment_id="c-1")

    membership = membership_get(telegram_id=ann.telegram_id, product_id=product.pk)
    assert changed and membership.state == Membership.State.ENDED
    assert membership.end_reason == Membership.EndReason.REFUNDED and not membership.for_good
    assert not owns(ann, product)
    assert [m.pk for m in memberships_expire()] == []  # ended already: only to be removed
    assert membership_mark_removed(membership_id=membership.pk) and not membership_mark_removed(membership_id=membership.pk)

    payload = payload_for(ann, product)
    assert checkout_check(telegram_id=ann.telegram_id, payload=payload, currency="XTR", total_amount=50) is None
    pay(ann, payload, total_amount=50, payment_id="c-2")
    membership.refresh_from_db()
    assert membership.state == Membership.State.ACTIVE and membership.for_good and membership.removed_at is None


def test_a_refunded_renewal_takes_back_only_its_month(ann):
    product = SubscriptionProductFactory()
    first_end = timezone.now() + timedelta(days=10)
    payload = payload_for(ann, product)
    subscribe(ann, product, charge="sub-1", expires_at=first_end, payload=payload)
    subscribe(ann, product, charge="sub-2", expires_at=first_end + SUBSCRIPTION_PERIOD, renewal=True, payload=payload)

    purchase_mark_refunded(payment_id="sub-2")

    membership = membership_get(telegram_id=ann.telegram_id, product_id=product.pk)
    assert membership.state == Membership.State.ACTIVE and membership.paid_until == first_end
    assert not membership.renewing


def test_cancel_and_resume_renewal(ann):
    product = SubscriptionProductFactory()
    subscribe(ann, product, charge="sub-1", expires_at=timezone.now() + SUBSCRIPTION_PERIOD)
    membership = membership_get(telegram_id=ann.telegram_id, product_id=product.pk)

    assert not membership_set_renewing(membership=membership, renewing=False).renewing
    assert membership_set_renewing(membership=membership, renewing=True).renewing

    membership_revoke(membership=membership)
    membership.refresh_from_db()
    with pytest.raises(ValidationError):
        membership_set_renewing(membership=membership, renewing=True)


def test_staff_extend_and_revoke(ann):
    product = SubscriptionProductFactory()
    end = timezone.now() + timedelta(days=3)
    subscribe(ann, product, charge="sub-1", expires_at=end)
    membership = membership_get(telegram_id=ann.telegram_id, product_id=product.pk)

    membership = membership_extend(membership=membership, days=7)
    assert membership.paid_until == end + timedelta(days=7)

    assert membership_revoke(membership=membership) and not membership_revoke(membership=membership)
    membership.refresh_from_db()
    assert membership.state == Membership.State.ENDED and membership.end_reason == Membership.EndReason.REVOKED
    assert not owns(ann, product)
    with pytest.raises(ValidationError):  # not before the member has been removed
        membership_extend(membership=membership, days=7)
    membership_mark_removed(membership_id=membership.pk)
    membership = membership_extend(membership=membership, days=7)
    assert membership.state == Membership.State.ACTIVE and owns(ann, product)


def test_a_grant_of_chat_access_gives_it_for_good(ann):
    product = ChannelProductFactory()
    purchase_grant(user=ann, product=product)
    assert owns(ann, product)


def test_a_granted_subscription_lasts_a_period_and_renews_by_nobody(ann):
    product = SubscriptionProductFactory()
    purchase_grant(user=ann, product=product)
    membership = membership_get(telegram_id=ann.telegram_id, product_id=product.pk)
    assert not membership.renewing and membership.subscription_charge_id == ""
    assert timedelta(days=29) < membership.paid_until - timezone.now() <= SUBSCRIPTION_PERIOD
    (ended,) = memberships_expire(now=membership.paid_until)
    assert ended.end_reason == Membership.EndReason.EXPIRED


def test_subscriptions_follow_telegrams_terms():
    chat_access_check_price(mode="subscription", price=10_000, currency="XTR")
    chat_access_check_price(mode="for_good", price=99_999, currency="RUB")
    with pytest.raises(ValidationError, match="Telegram Stars"):
        chat_access_check_price(mode="subscription", price=100, currency="RUB")
    with pytest.raises(ValidationError, match="10000"):
        chat_access_check_price(mode="subscription", price=10_001, currency="XTR")


def test_a_payment_staff_cleared_after_review_opens_the_chat(ann):
    product = ChannelProductFactory(price=50)
    outcome = pay(ann, payload_for(ann, product), total_amount=49, payment_id="c-1")  # not the invoice's amount
    assert outcome.purchase.review_reason and not owns(ann, product)

    purchase_request_delivery(purchase=outcome.purchase)
    purchase_request_delivery(purchase=outcome.purchase)  # asked twice: one period

    assert owns(ann, product)
    assert AccessPeriod.objects.filter(purchase=outcome.purchase).count() == 1


def test_of_two_new_invite_links_made_at_once_only_one_is_recorded_as_the_live_one(ann):
    from shop.access.services import membership_recent_invite_link, membership_set_invite_link

    product = ChannelProductFactory()
    pay(ann, payload_for(ann, product), total_amount=product.price, payment_id="c-1")
    membership = membership_get(telegram_id=ann.telegram_id, product_id=product.pk)
    assert membership_set_invite_link(membership=membership, link="https://t.me/+a", replaces="")
    late = Membership.objects.get(pk=membership.pk)
    late.invite_link = ""  # read before the first link was recorded

    assert membership_set_invite_link(membership=membership, link="https://t.me/+b", replaces="https://t.me/+a")
    assert not membership_set_invite_link(membership=late, link="https://t.me/+c", replaces="")  # its caller revokes +c
    membership.refresh_from_db()
    assert membership.invite_link == "https://t.me/+b"
    assert membership_recent_invite_link(membership=membership) == "https://t.me/+b"
    assert membership_recent_invite_link(membership=membership, now=timezone.now() + timedelta(minutes=11)) == ""


def test_a_test_payment_for_chat_access_lets_nobody_into_the_real_chat():
    from shop.invoices import InvoiceTerms, invoice_payload
    from shop.services.payments import purchase_record_payment
    from shop.testing.factories import UserFactory
    from shop.trial import trial_customer_id

    product = ChannelProductFactory(price=50)
    tester = UserFactory(telegram_id=trial_customer_id(staff_id=1))
    payload = invoice_payload(InvoiceTerms(tester.telegram_id, product.pk, 50, "XTR"))
    recorded = purchase_record_payment(user=tester, payload=payload, currency="XTR", total_amount=50, payment_id="test:1")

    assert recorded.purchase.payment_type == Purchase.PaymentType.TEST
    # no membership: nothing for the periodic check to ban (a test id in the real chat) when it "ends"
    assert not Membership.objects.exists() and not AccessPeriod.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_of_new_invite_links_recorded_at_once_by_several_workers_one_is_the_live_one(ann):
    from shop.access.services import membership_set_invite_link

    product = ChannelProductFactory()
    pay(ann, payload_for(ann, product), total_amount=product.price, payment_id="c-1")
    membership = membership_get(telegram_id=ann.telegram_id, product_id=product.pk)

    # each worker revoked the same previous link (none) and made its own: only one may be recorded
    recorded = run_at_once(
        lambda i: membership_set_invite_link(
            membership=Membership.objects.get(pk=membership.pk), link=f"https://t.me/+w{i}", replaces=""
        ),
        6,
    )

    assert sum(recorded) == 1
    membership.refresh_from_db()
    assert membership.invite_link == f"https://t.me/+w{recorded.index(True)}"
