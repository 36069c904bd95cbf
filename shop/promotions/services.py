"""Promo codes and referrals: every rule, and every reason a code is refused.

A code's use limits hold when many customers pay at once: pre-checkout holds one use for the
invoice (its key) while the code's row is locked (FOR UPDATE on PostgreSQL; SQLite runs write
transactions one at a time), so 20 checkouts with 5 uses left hold 5 uses and refuse 15. A hold
lasts HOLD_TIME; a payment that follows takes it. A payment that arrives when the code could no
longer be used (its hold ran out and others took the uses, staff deactivated it...) is not
refused (the money was taken): it is recorded at the price paid, with a note saying so.
"""

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Q, TextChoices
from django.utils import timezone

from shop.access.models import ChatAccess
from shop.models import Product, Purchase, User
from shop.money import minimum_price
from shop.prepared import Prepared
from shop.promotions import signals
from shop.promotions.models import (
    CODE_MAX_LENGTH,
    AppliedPromoCode,
    PromoCode,
    PromoRedemption,
    Referral,
    ReferralReward,
)
from shop.trial import is_test_customer

HOLD_TIME = timedelta(minutes=10)  # as long as stock is held for a checkout
WAIT = timedelta(minutes=10)  # how long «Have a promo code?» waits for the code
PAID = (Purchase.PaymentType.STARS, Purchase.PaymentType.PROVIDER)
_TYPED_CODE = re.compile(rf"[A-Za-z0-9]{{1,{CODE_MAX_LENGTH}}}")


class Refusal(TextChoices):
    UNKNOWN = "unknown"
    INACTIVE = "inactive"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    USED_UP = "used_up"
    NOT_FOR_PRODUCT = "not_for_product"
    ALREADY_USED = "already_used"
    FIRST_PURCHASE_ONLY = "first_purchase_only"


class PromoRefused(Exception):
    def __init__(self, reason: Refusal, code: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.code = code


@dataclass(frozen=True)
class Offer:
    """A code that applies to a product: its price for one unit, before and after."""

    code: PromoCode
    list_price: int
    price: int
    currency: str

    @property
    def free(self) -> bool:
        return self.price == 0


# --- the rules ---


def discounted_price(*, price: int, code: PromoCode, currency: str) -> int:
    """One unit's price with the code: the discount is rounded down, and the price never falls below the
    currency's minimum unless the code takes all of it (then the product is free)."""
    if price <= 0:
        return 0
    cut = price * min(code.value, 100) // 100 if code.kind == PromoCode.Kind.PERCENT else code.value
    if cut >= price:
        return 0
    return max(price - cut, minimum_price(currency))


def code_normalized(text: str) -> str:
    """What a customer typed, as codes are stored; "" if it cannot be a code."""
    text = (text or "").strip()
    return text.upper() if _TYPED_CODE.fullmatch(text) else ""


def promo_code_find(*, text: str) -> PromoCode | None:
    code = code_normalized(text)
    return PromoCode.objects.filter(code=code).first() if code else None


def _counted(redemptions, now):
    """Uses that count: those of a purchase not refunded (a refund gives its use back), and holds not run out."""
    return redemptions.filter(Q(purchase__status=Purchase.Status.PAID) | Q(purchase__isnull=True, held_until__gt=now))


def promo_refusal(
    *, code: PromoCode | None, telegram_id: int, product: Product | None = None, key: str = "", purchase_id: int | None = None
) -> Refusal | None:
    """Why `code` cannot be used by this customer (for `product`, if given) now; None if it can.

    `key`: the checkout asking (its own hold is not counted); `purchase_id`: the purchase being recorded
    (not counted as an earlier purchase).
    """
    if code is None or (code.owner_id is not None and code.owner.telegram_id != telegram_id):
        return Refusal.UNKNOWN  # someone else's personal code is as good as unknown
    now = timezone.now()
    if not code.is_active:
        return Refusal.INACTIVE
    if code.valid_from and now < code.valid_from:
        return Refusal.NOT_YET_VALID
    if code.valid_until and now >= code.valid_until:
        return Refusal.EXPIRED
    if product is not None:
        if ChatAccess.objects.filter(product_id=product.pk).exists():
            return Refusal.NOT_FOR_PRODUCT  # chat access sells at its price only (README, Promo codes and chat access)
        products = set(code.products.values_list("pk", flat=True))
        categories = set(code.categories.values_list("pk", flat=True))
        if (products or categories) and product.pk not in products and product.category_id not in categories:
            return Refusal.NOT_FOR_PRODUCT
    # the customer's own unpaid hold is not counted: if they check out again, it is replaced (their card was
    # declined, or they left the invoice and pressed Buy again), so it never costs them their code
    uses = _counted(PromoRedemption.objects.filter(code=code), now).exclude(purchase__isnull=True, user__telegram_id=telegram_id)
    if key:
        uses = uses.exclude(key=key)
    if purchase_id:
        uses = uses.exclude(purchase_id=purchase_id)
    if uses.filter(user__telegram_id=telegram_id).count() >= code.per_customer:
        return Refusal.ALREADY_USED
    if code.max_uses is not None and uses.count() >= code.max_uses:
        return Refusal.USED_UP
    if code.first_purchase_only:
        earlier = Purchase.objects.filter(user__telegram_id=telegram_id, payment_type__in=PAID)
        if purchase_id:
            earlier = earlier.exclude(pk=purchase_id)
        if earlier.exists():
            return Refusal.FIRST_PURCHASE_ONLY
    return None


def promo_offer(*, code: PromoCode | None, telegram_id: int, product: Product) -> Offer:
    """The product's price with the code for this customer; PromoRefused says why not."""
    refusal = promo_refusal(code=code, telegram_id=telegram_id, product=product)
    if refusal is not None:
        raise PromoRefused(refusal, code.code if code else "")
    price = discounted_price(price=product.price, code=code, currency=product.currency)
    return Offer(code, product.price, price, product.currency)


# --- the code a customer applied ---


def promo_apply(*, user: User, text: str, product: Product | None = None) -> PromoCode:
    """The customer entered a code (typed, or through a `c…` link): kept for their next purchase.

    With `product` (typed on its card) the code must apply to it. PromoRefused says why not; a refused
    code is not kept (an earlier one stays).
    """
    code = promo_code_find(text=text)
    refusal = promo_refusal(code=code, telegram_id=user.telegram_id, product=product)
    if refusal is not None:
        raise PromoRefused(refusal, code.code if code else code_normalized(text) or text.strip()[:CODE_MAX_LENGTH])
    AppliedPromoCode.objects.update_or_create(user=user, defaults={"code": code})
    return code


_APPLIED = Prepared(  # on every Buy: compiled once (shop.prepared)
    lambda telegram_id: AppliedPromoCode.objects.select_related("code__owner").filter(user__telegram_id=telegram_id)[:1],
    telegram_id=int,
)


def promo_applied(*, telegram_id: int) -> PromoCode | None:
    applied = _APPLIED.first(telegram_id=telegram_id)
    return applied.code if applied else None


def promo_applied_offer(*, telegram_id: int, product: Product) -> tuple[Offer | None, PromoRefused | None]:
    """The customer's applied code on this product: its offer, or why it does not apply (both None: no code)."""
    code = promo_applied(telegram_id=telegram_id)
    if code is None or product.price <= 0:
        return None, None
    try:
        return promo_offer(code=code, telegram_id=telegram_id, product=product), None
    except PromoRefused as refused:
        return None, refused


def promo_unapply(*, telegram_id: int) -> None:
    AppliedPromoCode.objects.filter(user__telegram_id=telegram_id).delete()


# --- checkout and payment ---


def promo_hold(*, code_text: str, telegram_id: int, product: Product, key: str) -> Refusal | None:
    """Pre-checkout: hold one use of the code for this invoice (`key`) for HOLD_TIME; the refusal if it cannot."""
    with transaction.atomic():
        # one checkout of this code at a time (on SQLite, one writer at a time anyway)
        # of=("self",): the owner is joined by a LEFT OUTER JOIN, which PostgreSQL cannot lock
        code = PromoCode.objects.select_for_update(of=("self",)).select_related("owner").filter(code=code_text).first()
        refusal = promo_refusal(code=code, telegram_id=telegram_id, product=product, key=key)
        if refusal is not None:
            return refusal
        held = PromoRedemption.objects.filter(code=code, key=key).first()
        if held is not None and held.purchase_id is not None:
            return Refusal.ALREADY_USED  # this invoice was paid with the code already
        user, _created = User.objects.get_or_create(telegram_id=telegram_id)  # known since Buy, as a rule
        # one hold per customer and code: an earlier unpaid checkout of theirs (a declined card) gives its way
        PromoRedemption.objects.filter(code=code, user=user, purchase__isnull=True).exclude(key=key).delete()
        PromoRedemption.objects.update_or_create(
            code=code, key=key, defaults={"user": user, "held_until": timezone.now() + HOLD_TIME}
        )
    return None


def promo_release(*, code_text: str, key: str) -> None:
    """The checkout did not go ahead after all (stock was short): its use is free again."""
    PromoRedemption.objects.filter(code__code=code_text, key=key, purchase__isnull=True).delete()


def promo_redeem(*, purchase: Purchase, code_text: str, key: str, list_price: int) -> PromoRedemption | None:
    """The purchase paid with the code: it takes the use held for its invoice. Call inside the transaction
    that records the purchase. If the code could not be used any more, the purchase is honoured anyway at
    the price paid, and the use says so."""
    code = PromoCode.objects.select_related("owner").filter(code=code_text).first()
    if code is None:
        return None  # deleted before anyone used it: the price paid is on the purchase
    telegram_id = purchase.user.telegram_id
    refusal = promo_refusal(code=code, telegram_id=telegram_id, key=key, purchase_id=purchase.pk)
    note = f"honoured after the code ran out ({refusal.label})" if refusal else ""
    fields = {"purchase": purchase, "list_price": list_price, "price_paid": purchase.price, "note": note}
    redemption = PromoRedemption.objects.filter(code=code, key=key, purchase__isnull=True).first() if key else None
    if redemption is not None:
        PromoRedemption.objects.filter(pk=redemption.pk).update(**fields)
        redemption.__dict__.update({k: v for k, v in fields.items() if k != "purchase"}, purchase_id=purchase.pk)
    else:
        redemption = PromoRedemption.objects.create(code=code, user=purchase.user, **fields)
    AppliedPromoCode.objects.filter(user=purchase.user, code=code).delete()
    return redemption


# --- waiting for a typed code ---
# Kept in the cache the shop's processes share (CACHE_URL, as flood control), not the database: a command
# or a plain text message then costs no query to end or look for a wait, and a lost wait only means the
# customer presses «Have a promo code?» again.


def _wait_key(telegram_id: int) -> str:
    return f"promo-wait:{telegram_id}"


def promo_wait_start(*, telegram_id: int, product: Product) -> None:
    """The customer's next text message (within WAIT) is a promo code for `product`."""
    cache.set(_wait_key(telegram_id), product.pk, WAIT.total_seconds())


def promo_wait_cancel(*, telegram_id: int) -> bool:
    """The customer changed their mind (Cancel, or any command); False if nothing was waiting."""
    return bool(cache.delete(_wait_key(telegram_id)))


def promo_wait_pending(*, telegram_id: int) -> bool:
    return cache.get(_wait_key(telegram_id)) is not None


def promo_wait_use(*, telegram_id: int) -> int | None:
    """The customer's message is the code: the wait ends; the product it was for (None: none waited)."""
    product_id = cache.get(_wait_key(telegram_id))
    cache.delete(_wait_key(telegram_id))
    return product_id


# --- referrals ---


def referral_code(*, user: User) -> str:
    """The customer's own link parameter: their id and a signature, so nobody can guess another's."""
    return f"{user.pk}_{_referral_mac(user.pk)}"


def _referral_mac(pk: int) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"referral:{pk}".encode(), hashlib.sha256).hexdigest()[:8]


def referrer_for_code(code: str) -> User | None:
    pk, _sep, mac = (code or "").partition("_")
    if not pk.isdigit() or len(pk) > 18 or not hmac.compare_digest(mac, _referral_mac(int(pk))):
        return None
    return User.objects.filter(pk=int(pk)).first()


def referral_record(*, referred: User, code: str, first_start: bool) -> Referral | None:
    """`referred` started the bot through the link `code`: recorded only at their first start, never by
    themselves, never in a loop (someone they brought, directly or not, cannot bring them)."""
    referrer = referrer_for_code(code)
    if not first_start or referrer is None or referrer.pk == referred.pk:
        return None
    if is_test_customer(referred.telegram_id) or is_test_customer(referrer.telegram_id):
        return None  # staff trying the bot (Try the bot) neither bring nor are brought by anyone
    ancestor, seen = referrer, 0
    while seen < 100:  # walk up who brought whom
        link = Referral.objects.filter(referred=ancestor).select_related("referrer").first()
        if link is None:
            break
        if link.referrer_id == referred.pk:
            return None
        ancestor, seen = link.referrer, seen + 1
    try:
        with transaction.atomic():
            return Referral.objects.create(referred=referred, referrer=referrer)
    except IntegrityError:  # recorded already (a second /start at once)
        return None


def _new_reward_code() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "R" + "".join(secrets.choice(alphabet) for _ in range(9))


def referral_reward_grant(*, purchase: Purchase) -> ReferralReward | None:
    """A referred customer's first paid purchase earns their referrer a personal code; once per referred
    customer (the database refuses a second reward). Call inside the transaction recording the purchase."""
    percent = settings.SHOP_REFERRAL_REWARD_PERCENT
    if percent <= 0 or purchase.payment_type not in PAID or not purchase.gives_access:
        return None
    referral = Referral.objects.filter(referred_id=purchase.user_id).select_related("referrer").first()
    if referral is None or ReferralReward.objects.filter(referral=referral).exists():
        return None
    try:
        with transaction.atomic():
            code = PromoCode.objects.create(
                code=_new_reward_code(),
                kind=PromoCode.Kind.PERCENT,
                value=min(percent, 100),
                valid_until=timezone.now() + timedelta(days=settings.SHOP_REFERRAL_REWARD_DAYS),
                max_uses=1,
                per_customer=1,
                owner=referral.referrer,
            )
            reward = ReferralReward.objects.create(referral=referral, purchase=purchase, code=code)
            # ready for the referrer's next purchase, unless they have applied another code
            AppliedPromoCode.objects.get_or_create(user=referral.referrer, defaults={"code": code})
    except IntegrityError:  # another payment of theirs was first, at the same moment
        return None
    signals.referral_rewarded.send(ReferralReward, reward_id=reward.pk)
    return reward


def referral_reward_withdraw(*, purchase: Purchase) -> bool:
    """The purchase that earned a reward was refunded: the reward code goes, unless it was used already."""
    reward = ReferralReward.objects.filter(purchase=purchase, withdrawn_at__isnull=True).select_related("code").first()
    if reward is None:
        return False
    with transaction.atomic():
        code = PromoCode.objects.select_for_update().get(pk=reward.code_id)
        if _counted(PromoRedemption.objects.filter(code=code), timezone.now()).exists():
            return False
        PromoCode.objects.filter(pk=code.pk).update(is_active=False)
        ReferralReward.objects.filter(pk=reward.pk).update(withdrawn_at=timezone.now())
    return True
