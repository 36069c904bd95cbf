"""Writes about test customers and test payments ("Try the bot", shop/trial.py)."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError, Q
from django.utils.translation import gettext as _

from shop.access.models import AccessPeriod, Membership
from shop.models import Purchase, User
from shop.promotions.models import PromoCode, PromoRedemption, Referral, ReferralReward
from shop.stock.models import StockUnit
from shop.trial import is_test_customer


def _delete_test_purchases(purchases) -> int:
    """Delete test purchases with what hangs on them (inside the caller's transaction): the promo code uses
    and referral rewards they made, the chat access periods they paid for, and any unit of stock they took
    (back on sale: it was never really sold). How many purchases went."""
    ids = list(purchases.values_list("pk", flat=True))
    if not ids:
        return 0
    ReferralReward.objects.filter(purchase_id__in=ids).delete()
    PromoRedemption.objects.filter(purchase_id__in=ids).delete()
    AccessPeriod.objects.filter(purchase_id__in=ids).delete()
    units = StockUnit.objects.filter(purchase_id__in=ids)
    units.filter(returned_at__isnull=False).delete()  # a copy of it is on sale already
    units.update(purchase=None, sold_at=None, reservation="", reserved_until=None)
    _total, by_model = Purchase.objects.filter(pk__in=ids).delete()
    return by_model.get(Purchase._meta.label, 0)


def trial_customer_forget(*, telegram_id: int) -> None:
    """Start over: the test customer, their test purchases and everything else the shop kept of them
    (support messages, back-in-stock requests, promo code uses, referral, chat memberships...) are gone.
    Refused for anyone but a test customer."""
    if not is_test_customer(telegram_id):
        raise ValidationError(_("Only a test customer can be started over."))
    with transaction.atomic():
        _delete_test_purchases(Purchase.objects.filter(user__telegram_id=telegram_id, payment_type=Purchase.PaymentType.TEST))
        user = User.objects.filter(telegram_id=telegram_id).first()
        if user is None or user.purchases.exists():
            return
        AccessPeriod.objects.filter(membership__user=user).delete()
        Membership.objects.filter(user=user).delete()
        own_codes = PromoCode.objects.filter(owner=user)
        PromoRedemption.objects.filter(Q(user=user) | Q(code__in=own_codes)).delete()
        ReferralReward.objects.filter(Q(referral__referred=user) | Q(code__in=own_codes)).delete()
        Referral.objects.filter(referred=user).delete()
        own_codes.delete()
        try:
            with transaction.atomic():
                user.delete()  # the rest of what is theirs goes with them (cascades)
        except ProtectedError:  # a real customer's record names them (they came through the tester's referral link)
            pass


def trial_purchases_delete(*, purchases) -> int:
    """Staff delete test purchases (a real purchase is never deleted); how many went."""
    with transaction.atomic():
        return _delete_test_purchases(
            Purchase.objects.filter(pk__in=[purchase.pk for purchase in purchases], payment_type=Purchase.PaymentType.TEST)
        )
