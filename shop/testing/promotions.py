"""Promo codes and referrals for tests."""

import factory
from factory.django import DjangoModelFactory

from shop.promotions.models import PromoCode, Referral


class PromoCodeFactory(DjangoModelFactory):
    """`PromoCodeFactory(code="SAVE10", value=10)`: 10% off, no limits but once per customer."""

    class Meta:
        model = PromoCode

    code = factory.Sequence(lambda n: f"CODE{n}")
    kind = PromoCode.Kind.PERCENT
    value = 10


class ReferralFactory(DjangoModelFactory):
    class Meta:
        model = Referral
