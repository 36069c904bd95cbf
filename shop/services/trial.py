"""Writes about test customers and test payments ("Try the bot", shop/trial.py)."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from shop.models import Purchase, User
from shop.promotions.models import PromoRedemption, Referral
from shop.trial import is_test_customer


def trial_customer_forget(*, telegram_id: int) -> None:
    """Start over: the test customer, their test purchases and everything else the shop kept of them
    (support messages, back-in-stock requests...) are gone. Refused for anyone but a test customer."""
    if not is_test_customer(telegram_id):
        raise ValidationError(_("Only a test customer can be started over."))
    with transaction.atomic():
        # promo codes: their uses and holds (none since test customers spend no use, but older ones may be
        # there), and referral links they opened or shared in Try the bot (never recorded since, as a rule)
        test = Q(purchase__isnull=True) | Q(purchase__payment_type=Purchase.PaymentType.TEST)
        PromoRedemption.objects.filter(test, user__telegram_id=telegram_id).delete()
        Referral.objects.filter(
            Q(referred__telegram_id=telegram_id) | Q(referrer__telegram_id=telegram_id), reward__isnull=True
        ).delete()
        Purchase.objects.filter(user__telegram_id=telegram_id, payment_type=Purchase.PaymentType.TEST).delete()
        user = User.objects.filter(telegram_id=telegram_id).first()
        if user is not None and not user.purchases.exists():
            user.delete()  # the rest of what is theirs goes with them (cascades)


def trial_purchases_delete(*, purchases) -> int:
    """Staff delete test purchases (a real purchase is never deleted); how many went."""
    _total, by_model = Purchase.objects.filter(
        pk__in=[purchase.pk for purchase in purchases], payment_type=Purchase.PaymentType.TEST
    ).delete()
    return by_model.get(Purchase._meta.label, 0)
