"""Reads of promotions: a customer's referral figures; codes and referrers with what they brought."""

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from shop.models import Purchase, User
from shop.prepared import Prepared
from shop.promotions.models import AppliedPromoCode, PromoCode, PromoRedemption, Referral, Referrer

_PAID = Q(status=Purchase.Status.PAID, payment_type__in=[Purchase.PaymentType.STARS, Purchase.PaymentType.PROVIDER])


def referral_reward_due(*, referred_ref) -> Exists:
    """Whether the customer (`referred_ref`: their id, or an OuterRef to it) was brought by a referrer who has
    had no reward for them yet (shop.promotions.services.referral_reward_grant decides whether one is earned)."""
    return Exists(Referral.objects.filter(referred_id=referred_ref, reward__isnull=True))


def referral_counts(*, telegram_id: int) -> tuple[int, int]:
    """How many friends the customer brought, and how many of them bought something (in one query)."""
    figures = Referral.objects.filter(referrer__telegram_id=telegram_id).aggregate(
        joined=Count("pk", distinct=True),
        bought=Count("pk", filter=Q(referred__purchases__in=Purchase.objects.filter(_PAID)), distinct=True),
    )
    return figures["joined"], figures["bought"]


def promo_codes_with_figures() -> QuerySet[PromoCode]:
    """Codes with `uses` (purchases made with them, refunded ones too), `revenue` (paid, not refunded) and
    `discount` given; test purchases are left out."""
    # test purchases (staff trying the bot) are no use of a code; they take none since, older ones are left out
    used = Q(redemptions__purchase__isnull=False) & ~Q(redemptions__purchase__payment_type=Purchase.PaymentType.TEST)
    kept = used & Q(redemptions__purchase__status=Purchase.Status.PAID)
    zero = Value(0, output_field=IntegerField())
    return PromoCode.objects.annotate(
        uses=Count("redemptions", filter=used),
        revenue=Coalesce(Sum("redemptions__price_paid", filter=kept), zero),
        discount=Coalesce(Sum("redemptions__list_price", filter=kept), zero)
        - Coalesce(Sum("redemptions__price_paid", filter=kept), zero),
    )


def referrals_with_revenue() -> QuerySet[Referral]:
    """Referrals with `revenue`: what the referred customer paid (not refunded)."""
    revenue = (
        Purchase.objects.filter(_PAID, user=OuterRef("referred"))
        .order_by()
        .values("user")
        .annotate(total=Sum("price"))
        .values("total")
    )
    return Referral.objects.select_related("referrer", "referred").annotate(
        revenue=Coalesce(Subquery(revenue, output_field=IntegerField()), Value(0))
    )


def referrers_with_figures() -> QuerySet[Referrer]:
    """Customers who brought others: how many, and what those paid."""
    revenue = (
        Purchase.objects.filter(_PAID, user__referral__referrer=OuterRef("pk"))
        .order_by()
        .values("user__referral__referrer")
        .annotate(total=Sum("price"))
        .values("total")
    )
    return (
        Referrer.objects.filter(referrals__isnull=False)
        .annotate(invited=Count("referrals", distinct=True))
        .annotate(revenue=Coalesce(Subquery(revenue, output_field=IntegerField()), Value(0)))
    )


def discounts_since(since) -> dict[str, int]:
    """Discount given through codes on paid purchases made since `since`, per currency: {currency: amount}."""
    rows = (
        PromoRedemption.objects.filter(purchase__status=Purchase.Status.PAID, purchase__created_at__gte=since)
        .exclude(purchase__payment_type=Purchase.PaymentType.TEST)  # staff trying the bot gave no discount
        .values("purchase__currency")
        .annotate(listed=Sum("list_price"), paid=Sum("price_paid"))
    )
    return {r["purchase__currency"]: (r["listed"] or 0) - (r["paid"] or 0) for r in rows}


def _card_state(telegram_id: int):
    offered = PromoCode.objects.filter(Q(owner__isnull=True) | Q(owner=OuterRef("pk")), is_active=True)
    return (
        User.objects.filter(telegram_id=telegram_id)
        .annotate(
            applied_id=Subquery(AppliedPromoCode.objects.filter(user=OuterRef("pk")).values("code_id")[:1]),
            offered=Exists(offered),
        )
        .values_list("applied_id", "offered")[:1]
    )


_CARD_STATE = Prepared(_card_state, telegram_id=int)  # on every card: compiled once (shop.prepared)


def promo_card_state(*, telegram_id: int) -> tuple[int | None, bool]:
    """For a card, in one query: the id of the code the customer applied (None: none), and whether they could
    have a code to enter (an active code for everyone, or one of their own)."""
    row = _CARD_STATE.first(telegram_id=telegram_id)
    if row is None:  # not a customer yet (a card opened before /start): codes for everyone only
        return None, PromoCode.objects.filter(owner__isnull=True, is_active=True).exists()
    return row
