"""Buying and paying: invoices, pre-checkout, recording payments exactly once, free products, grants, refunds."""

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import TextChoices
from django.utils import timezone
from django.utils.translation import gettext as _

from shop import signals
from shop.access.services import access_period_record, access_purchase_refunded
from shop.invoices import InvoiceTerms, invoice_payload, invoice_terms
from shop.models import Product, Purchase, UnmatchedPayment, User
from shop.models.base import storable_text
from shop.money import from_minor_units, to_minor_units
from shop.prepared import Prepared
from shop.promotions.models import PromoCode
from shop.promotions.selectors import referral_reward_due
from shop.promotions.services import (
    discounted_price,
    promo_hold,
    promo_offer,
    promo_redeem,
    promo_refusal,
    promo_release,
    promo_unapply,
    referral_reward_grant,
    referral_reward_withdraw,
)
from shop.selectors.catalog import now_and_grace, product_get_with_ownership, products_with_ownership
from shop.selectors.purchases import owned_by
from shop.services.delivery import delivery_claimer
from shop.stock.selectors import stock_available_count
from shop.stock.services import OUT_OF_STOCK, OutOfStock, stock_allocate, stock_hold
from shop.trial import TEST_PAYMENT_PREFIX, is_test_customer

log = logging.getLogger(__name__)


class CheckoutRefusal(TextChoices):
    INVALID = "invalid"
    NOT_YOURS = "not_yours"
    UNAVAILABLE = "unavailable"
    PRICE_CHANGED = "price_changed"
    ALREADY_OWNED = "already_owned"
    SOLD_OUT = "sold_out"
    PROMO_REFUSED = "promo_refused"


def _hold_key(terms: InvoiceTerms, payload: str) -> str:
    """What a checkout's units are held under: the invoice's key (older invoices: their signature's end)."""
    return terms.key or payload[-32:]


def quantity_check(*, product: Product, quantity: int) -> None:
    """Whether `quantity` units of the product may be bought now; ValidationError says why not."""
    if not product.sells_units:
        if quantity != 1:
            raise ValidationError(_("This product is sold one at a time."))
        return
    if not 1 <= quantity <= product.max_per_order:
        raise ValidationError(_("You can buy from 1 to %(max)d at a time.") % {"max": product.max_per_order}, code="quantity")
    available = stock_available_count(product_id=product.pk, up_to=quantity)
    if available == 0:
        raise ValidationError(_("Sorry, this product is sold out."), code="sold_out")
    if available < quantity:
        raise ValidationError(
            _("Only %(n)d left: choose fewer.") % {"n": available}, code="short", params={"available": available}
        )


def invoice_create(
    *, telegram_id: int, product: Product, quantity: int = 1, promo_code: PromoCode | None = None
) -> tuple[InvoiceTerms, str]:
    """The terms of an invoice for `quantity` of `product` at today's price, and the signed payload carrying them.

    With `promo_code`: at the code's price, the code in the payload (PromoRefused if it does not apply).
    """
    if not product.is_active or product.price <= 0:
        raise ValidationError(_("This product cannot be bought."))
    quantity_check(product=product, quantity=quantity)
    price, code = product.price, ""
    if promo_code is not None:
        offer = promo_offer(code=promo_code, telegram_id=telegram_id, product=product)
        if offer.free:  # the free-product path (purchase_get_free_with_code) is the one for it
            raise ValidationError(_("This product cannot be bought."))
        price, code = offer.price, promo_code.code
    terms = InvoiceTerms(
        telegram_id=telegram_id, product_id=product.pk, price=price, currency=product.currency, quantity=quantity, code=code
    )
    return terms, invoice_payload(terms)


def checkout_check(*, telegram_id: int, payload: str, currency: str, total_amount: int) -> CheckoutRefusal | None:
    """Whether Telegram may take the money (pre_checkout_query): None means yes.

    For a product sold from stock, yes also holds the units for this invoice (shop.stock.services).
    """
    terms = invoice_terms(payload)
    if terms is None:
        return CheckoutRefusal.INVALID
    if terms.telegram_id != telegram_id:
        return CheckoutRefusal.NOT_YOURS
    product = product_get_with_ownership(product_id=terms.product_id, telegram_id=telegram_id)
    if product is None or not product.is_active:
        return CheckoutRefusal.UNAVAILABLE
    unit_price = _promo_unit_price(terms.code, product) if terms.code else product.price
    if (
        terms.price != unit_price
        or terms.currency != product.currency
        or currency != product.currency
        or total_amount != to_minor_units(unit_price * terms.quantity, product.currency)
    ):
        return CheckoutRefusal.PRICE_CHANGED
    if not product.sells_units:
        if terms.quantity != 1:
            return CheckoutRefusal.INVALID
        return CheckoutRefusal.ALREADY_OWNED if product.owned else _promo_checkout(terms, payload, product)
    if not 1 <= terms.quantity <= product.max_per_order:
        return CheckoutRefusal.INVALID
    refusal = _promo_checkout(terms, payload, product)
    if refusal is not None:
        return refusal
    if is_test_customer(telegram_id):  # a test checkout holds no real units: it only sees whether there are enough
        enough = stock_available_count(product_id=product.pk, up_to=terms.quantity) >= terms.quantity
        return None if enough else CheckoutRefusal.SOLD_OUT
    if not stock_hold(product=product, quantity=terms.quantity, key=_hold_key(terms, payload)):
        if terms.code:
            promo_release(code_text=terms.code, key=_hold_key(terms, payload))
        return CheckoutRefusal.SOLD_OUT
    return None


def _promo_unit_price(code_text: str, product: Product) -> int | None:
    """One unit's price with the code as it is now (None: the code is gone)."""
    code = PromoCode.objects.filter(code=code_text).first()
    return None if code is None else discounted_price(price=product.price, code=code, currency=product.currency)


def _promo_checkout(terms: InvoiceTerms, payload: str, product: Product) -> CheckoutRefusal | None:
    """An invoice at a code's price: one use of the code held for it, if the code can still be used."""
    if not terms.code:
        return None
    if is_test_customer(terms.telegram_id):  # staff trying the bot: the code's rules, but no use of it held
        code = PromoCode.objects.select_related("owner").filter(code=terms.code).first()
        refusal = promo_refusal(code=code, telegram_id=terms.telegram_id, product=product)
        return None if refusal is None else CheckoutRefusal.PROMO_REFUSED
    refusal = promo_hold(code_text=terms.code, telegram_id=terms.telegram_id, product=product, key=_hold_key(terms, payload))
    return None if refusal is None else CheckoutRefusal.PROMO_REFUSED


def user_owns_product(*, telegram_id: int, product_id: int) -> bool:
    return owned_by(telegram_id=telegram_id, product_ref=product_id).exists()


@dataclass
class PaymentOutcome:
    purchase: Purchase | None  # None only for an unmatched payment
    created: bool  # False: this payment had been recorded before
    unmatched: UnmatchedPayment | None = None

    @property
    def out_of_stock(self) -> bool:
        """Paid when stock could not cover it: the money is to go back (refund_due)."""
        return self.purchase is not None and self.purchase.review_reason.startswith(OUT_OF_STOCK)


def refund_due(purchase: Purchase) -> bool:
    """A payment recorded out of stock and not refunded yet: its money is to go back."""
    return purchase.status == Purchase.Status.PAID and purchase.review_reason.startswith(OUT_OF_STOCK)


def purchase_record_payment(
    *,
    user: User,
    payload: str,
    currency: str,
    total_amount: int,
    payment_id: str,
    provider_payment_id: str = "",
    renewal: bool = False,
    subscription_expires_at: datetime | None = None,
) -> PaymentOutcome:
    """Record a successful payment exactly once, whatever it says.

    Telegram may deliver the same payment twice, and two processes may receive it at once:
    the unique payment id decides. Money that was taken is always recorded; a payment that
    does not match its invoice is kept for staff to review instead of handing out content.
    `renewal`: Telegram renewed a Stars subscription (a chat's access, shop.access), which it
    will do until `subscription_expires_at`.
    """
    payload = storable_text(UnmatchedPayment, "payload", payload)
    payment_id = storable_text(Purchase, "payment_id", payment_id)
    provider_payment_id = storable_text(Purchase, "provider_payment_id", provider_payment_id)
    terms = invoice_terms(payload)
    product = (
        _PAYMENT_PRODUCT.first(product_id=terms.product_id, telegram_id=user.telegram_id, user_id=user.pk, **now_and_grace())
        if terms
        else None
    )
    if not payment_id.strip():  # never from Telegram; kept for staff rather than lost or crashing
        product, payment_id = None, f"no-payment-id:{uuid.uuid4().hex}"
    if product is None:
        return _unmatched_payment_record(
            user=user,
            payload=payload,
            currency=storable_text(UnmatchedPayment, "currency", currency),
            total_amount=total_amount,
            payment_id=payment_id,
            provider_payment_id=provider_payment_id,
            reason="invoice payload is not genuine"
            if terms is None
            else "no payment id"
            if payment_id.startswith("no-payment-id:")
            else "the product no longer exists",
        )
    price, remainder = from_minor_units(total_amount, currency)
    problems = []
    if terms.telegram_id != user.telegram_id:
        problems.append(f"paid by {user.telegram_id}, invoice was for {terms.telegram_id}")
    if currency != terms.currency:
        problems.append(f"paid in {currency}, invoice was in {terms.currency}")
    if remainder or price != terms.total:
        problems.append(f"paid {total_amount} (smallest units), invoice was for {terms.total} {terms.currency}")
    if product.owned and not product.sells_units and not renewal:
        problems.append("the buyer already owned this product: paid twice? consider a refund")
    # A test payment: a test customer's, made in "Try the bot" (whose charge ids say so). Anything else is
    # taken as real money: kept for staff to review if only one of the two holds.
    test = is_test_customer(user.telegram_id) and payment_id.startswith(TEST_PAYMENT_PREFIX)
    if not test and (is_test_customer(user.telegram_id) or payment_id.startswith(TEST_PAYMENT_PREFIX)):
        problems.append("a test customer or a test charge id outside Try the bot")
    purchase = Purchase(
        user=user,
        product=product,
        price=price,
        quantity=terms.quantity if product.sells_units else 1,
        currency=storable_text(Purchase, "currency", currency),
        payment_type=_payment_type(currency, test=test),
        payment_id=payment_id,
        provider_payment_id=provider_payment_id,
        review_reason="; ".join(problems)[:255],
        # whoever records the payment also holds its delivery (see purchase_claim_delivery)
        delivery_claimed_at=None if problems else timezone.now(),
        delivery_claimed_by="" if problems else delivery_claimer(),
    )
    purchase.clean_fields(exclude=["user", "product"])  # both just loaded: no need to ask the database again
    key = _hold_key(terms, payload)  # what the checkout held (units, the code's use) under this invoice
    besides = []  # what the payment records beside the purchase, in its transaction
    if product.sells_units and not test:  # a test purchase takes no real units
        besides.append(partial(_allocate_or_hold_back, purchase, key=key))
    if terms.code and test:  # staff trying the bot spend no real use of the code
        besides.append(partial(promo_unapply, telegram_id=user.telegram_id))
    elif terms.code:
        list_price = product.price * purchase.quantity
        besides.append(partial(promo_redeem, purchase=purchase, code_text=terms.code, key=key, list_price=list_price))
    if product.referral_due:  # a referred customer's first paid purchase may reward the referrer
        besides.append(partial(referral_reward_grant, purchase=purchase))
    if product.gives_chat_access and not problems:  # the chat's access it pays for
        expires_at = subscription_expires_at
        besides.append(partial(access_period_record, purchase=purchase, renewal=renewal, expires_at=expires_at, opens_chat=True))
    try:
        _save_with(purchase, besides)
    except IntegrityError:
        # Recorded before (Telegram repeats updates) or by another worker just now: that record is the one.
        return PaymentOutcome(Purchase.objects.select_related("product", "user").get(payment_id=payment_id), False)
    # just recorded without units (not sold from stock, or a test): its delivery need not look for any
    purchase.holds_no_units = not product.sells_units or test
    return PaymentOutcome(purchase, created=True)


# The payment's one read: the product with `owned` (the catalog's rule) and whether the buyer came through a
# referral still to be rewarded (shop.promotions'), so that a payment with none reads nothing more for it.
_PAYMENT_PRODUCT = Prepared(
    lambda product_id, telegram_id, user_id, now, grace_from: (
        products_with_ownership(telegram_id=telegram_id, now=now, grace_from=grace_from)
        .annotate(referral_due=referral_reward_due(referred_ref=user_id))
        .filter(pk=product_id)[:1]
    ),
    product_id=int,
    telegram_id=int,
    user_id=int,
    now=datetime,
    grace_from=datetime,
)


def _save_with(purchase: Purchase, besides: list[Callable[[], object]]) -> None:
    """Save the new purchase and what is recorded beside it, all or nothing. With nothing beside it (a
    plain payment) and no transaction around, the INSERT alone is that: no transaction is opened for it.
    This holds while saving a Purchase writes nothing else (no parent model, no post_save receiver that
    writes): whatever a purchase's record needs beside it belongs in `besides`."""
    if not besides and not transaction.get_connection().in_atomic_block:
        purchase.save()
        return
    with transaction.atomic():  # inside another transaction too: a savepoint, so a repeat's refusal spoils nothing
        purchase.save()
        for record in besides:
            record()


def _payment_type(currency: str, *, test: bool) -> str:
    if test:
        return Purchase.PaymentType.TEST
    return Purchase.PaymentType.STARS if currency == "XTR" else Purchase.PaymentType.PROVIDER


def _allocate_or_hold_back(purchase: Purchase, *, key: str) -> None:
    """The purchase's units; if stock cannot cover them, the payment is kept as out of stock (to be
    refunded) instead: money taken is always recorded, and never for nothing."""
    try:
        stock_allocate(purchase=purchase, key=key)
    except OutOfStock as short:
        reason = f"{OUT_OF_STOCK}: paid for {purchase.quantity}, {short.available} available"
        if purchase.review_reason:
            reason += f"; {purchase.review_reason}"
        purchase.review_reason = reason[:255]
        purchase.delivery_claimed_at = None
        Purchase.objects.filter(pk=purchase.pk).update(review_reason=purchase.review_reason, delivery_claimed_at=None)


def _unmatched_payment_record(*, user: User, **fields) -> PaymentOutcome:
    try:
        with transaction.atomic():
            unmatched = UnmatchedPayment.objects.create(telegram_id=user.telegram_id, amount=fields.pop("total_amount"), **fields)
    except IntegrityError:
        return PaymentOutcome(None, created=False, unmatched=UnmatchedPayment.objects.get(payment_id=fields["payment_id"]))
    return PaymentOutcome(None, created=True, unmatched=unmatched)


def _at_no_charge(user: User, product: Product, payment_type: str, **fields) -> Purchase:
    return Purchase(user=user, product=product, price=0, currency=product.currency, payment_type=payment_type, **fields)


def purchase_get_free(*, user: User, product: Product) -> tuple[Purchase, bool]:
    """A free product for the user; asking again returns the same purchase."""
    if not product.is_active or product.price != 0:
        raise ValidationError(_("This product is not free."))
    test = is_test_customer(user.telegram_id)  # staff trying the bot: a test purchase, taking no real units
    purchase = _at_no_charge(
        user,
        product,
        Purchase.PaymentType.TEST if test else Purchase.PaymentType.FREE,
        payment_id=f"{TEST_PAYMENT_PREFIX if test else ''}free:{user.telegram_id}:{product.pk}",
        delivery_claimed_at=timezone.now(),  # its delivery belongs to whoever creates it
        delivery_claimed_by=delivery_claimer(),
    )
    try:
        with transaction.atomic():
            purchase.save()
            if product.sells_units and not test:
                stock_allocate(purchase=purchase)
            access_period_record(purchase=purchase)
    except IntegrityError:
        return Purchase.objects.select_related("product", "user").get(payment_id=purchase.payment_id), False
    except OutOfStock as short:
        raise ValidationError(_("Sorry, this product is sold out."), code="sold_out") from short
    return purchase, True


def purchase_get_free_with_code(
    *, user: User, product: Product, promo_code: PromoCode, quantity: int = 1
) -> tuple[Purchase, bool]:
    """A product a promo code makes free: handed over like a free product, the code's use recorded.

    The code's row is locked while its limits are checked and the use is taken, so a limited code
    gives no more free products than its uses, and a double press gives one product per use: a
    product sold one at a time that the customer got meanwhile is returned (False: not made now).
    PromoRefused says why the code does not apply. A test customer (Try the bot) gets a test
    purchase, which takes no real units and no use of the code.
    """
    if not product.is_active or product.price <= 0:
        raise ValidationError(_("This product cannot be bought."))
    test = is_test_customer(user.telegram_id)
    try:
        with transaction.atomic():
            # of=("self",): the owner is joined by a LEFT OUTER JOIN, which PostgreSQL cannot lock
            code = PromoCode.objects.select_for_update(of=("self",)).select_related("owner").get(pk=promo_code.pk)
            if not product.sells_units:  # one each: a second press at once finds the first one's purchase
                owned = _owned_purchase(user=user, product=product)
                if owned is not None:
                    return owned, False
            if not promo_offer(code=code, telegram_id=user.telegram_id, product=product).free:
                raise ValidationError(_("This product cannot be bought."))
            purchase = _at_no_charge(
                user,
                product,
                Purchase.PaymentType.TEST if test else Purchase.PaymentType.FREE,
                payment_id=f"{TEST_PAYMENT_PREFIX if test else ''}promo:{code.pk}:{uuid.uuid4().hex}",
                quantity=quantity if product.sells_units else 1,
                delivery_claimed_at=timezone.now(),  # its delivery belongs to whoever creates it
                delivery_claimed_by=delivery_claimer(),
            )
            purchase.save()
            if product.sells_units and not test:  # a test purchase takes no real units
                stock_allocate(purchase=purchase)
            if test:  # staff trying the bot spend no real use of the code
                promo_unapply(telegram_id=user.telegram_id)
            else:
                promo_redeem(purchase=purchase, code_text=code.code, key="", list_price=product.price * purchase.quantity)
            access_period_record(purchase=purchase)
    except OutOfStock as short:
        raise ValidationError(_("Sorry, this product is sold out."), code="sold_out") from short
    return purchase, True


def _owned_purchase(*, user: User, product: Product) -> Purchase | None:
    """The purchase through which the user has the product now (a chat's access: while it lasts), if they do."""
    current = product_get_with_ownership(product_id=product.pk, telegram_id=user.telegram_id)
    if current is None or not current.owned:
        return None
    return owned_by(telegram_id=user.telegram_id, product_ref=product.pk).select_related("product", "user").first()


def purchase_grant(*, user: User, product: Product, token: str | None = None) -> tuple[Purchase, bool]:
    """Staff give a product to a customer, as if bought for free; returns the purchase and whether this call made it.

    `token` names one grant: the grant form carries one, made when the form is shown, and the
    purchase's unique payment id is made from it. A form sent twice (a double click, a reload),
    even by two requests at the same moment, grants once: the database refuses the second row,
    and the grant already made is returned. Without a token the grant is a new one.
    """
    if is_test_customer(user.telegram_id):
        raise ValidationError(_("This is a test customer of Try the bot: nothing can be granted to them."))
    payment_id = f"manual:{token or uuid.uuid4().hex}"
    granted = _granted_before(payment_id, user=user, product=product)
    if granted is not None:
        return granted, False
    # a product sold from stock may be granted again: each grant is another unit (a replacement key, say)
    if not product.sells_units and user_owns_product(telegram_id=user.telegram_id, product_id=product.pk):
        granted = _granted_before(payment_id, user=user, product=product)  # this very form, just now (a double click)
        if granted is not None:
            return granted, False
        raise ValidationError(_("%(user)s already has %(product)s.") % {"user": user, "product": product})
    purchase = _at_no_charge(user, product, Purchase.PaymentType.MANUAL, payment_id=payment_id)
    purchase.full_clean(validate_unique=False)  # the unique payment id is the database's to enforce
    try:
        with transaction.atomic():
            purchase.save()
            if product.sells_units:
                stock_allocate(purchase=purchase)
            access_period_record(purchase=purchase)
            signals.purchase_granted.send(Purchase, purchase_id=purchase.pk)
    except OutOfStock as short:
        raise ValidationError(_("%(product)s is out of stock: add stock first.") % {"product": product}) from short
    except IntegrityError:
        granted = _granted_before(payment_id, user=user, product=product)
        if granted is None:
            raise
        return granted, False
    return purchase, True


def _granted_before(payment_id: str, *, user: User, product: Product) -> Purchase | None:
    """The grant already made under this payment id; an error if the id was used for another grant."""
    granted = Purchase.objects.select_related("product", "user").filter(payment_id=payment_id).first()
    if granted is not None and (granted.user_id, granted.product_id) != (user.pk, product.pk):
        raise ValidationError(_("This form has been used for another grant already: open the grant page again."))
    return granted


def purchase_refund(*, purchase: Purchase, refund: Callable[[int, str], None]) -> Purchase:
    """Give a Stars payment back. `refund(telegram_id, payment_id)` asks Telegram and raises if it refuses,
    in which case nothing changes here."""
    purchase.refresh_from_db()  # refunded meanwhile (by other staff, or Telegram's refunded_payment)?
    if purchase.status == Purchase.Status.REFUNDED:
        raise ValidationError(_("This purchase has already been refunded."))
    if purchase.payment_type != Purchase.PaymentType.STARS:
        raise ValidationError(_("Only payments in Telegram Stars can be refunded from here."))
    refund(purchase.user.telegram_id, purchase.payment_id)
    purchase_mark_refunded(payment_id=purchase.payment_id)
    purchase.refresh_from_db()
    return purchase


def purchase_mark_refunded(*, payment_id: str) -> tuple[Purchase | None, bool]:
    """The payment was given back (by staff here, or elsewhere: Telegram's refunded_payment).

    Returns the purchase (None if unknown) and whether this call marked it (False: already was).
    """
    with transaction.atomic():
        changed = Purchase.objects.filter(payment_id=payment_id, status=Purchase.Status.PAID).update(
            status=Purchase.Status.REFUNDED, refunded_at=timezone.now(), updated_at=timezone.now()
        )
        purchase = Purchase.objects.filter(payment_id=payment_id).select_related("product").first()
        if changed:
            # What the purchase gave is taken back, each in a savepoint: a failure there is logged and
            # never undoes the refund's record (the money has gone back already).
            _after_refund("the chat access it paid for", access_purchase_refunded, purchase=purchase)
            _after_refund("the referral reward", referral_reward_withdraw, purchase=purchase)  # first purchase only
            _after_refund("the receivers", _announce_refund, purchase=purchase)  # e.g. the buyer's review
    return purchase, bool(changed)


def _after_refund(what: str, action: Callable[..., object], *, purchase: Purchase) -> None:
    try:
        with transaction.atomic():
            action(purchase=purchase)
    except Exception:
        log.exception("refund of purchase %s recorded, but %s could not be settled", purchase.pk, what)


def _announce_refund(*, purchase: Purchase) -> None:
    signals.purchase_refunded.send(sender=Purchase, purchase_id=purchase.pk)


def unmatched_payment_mark_refunded(*, payment_id: str) -> tuple[UnmatchedPayment | None, bool]:
    """Telegram gave back a payment kept as unmatched (staff refunded it): recorded on it, so staff see it
    went through. Returns it (None if unknown) and whether this call marked it."""
    changed = UnmatchedPayment.objects.filter(payment_id=payment_id, refunded_at__isnull=True).update(
        refunded_at=timezone.now(), updated_at=timezone.now()
    )
    return UnmatchedPayment.objects.filter(payment_id=payment_id).first(), bool(changed)
