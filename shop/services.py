"""Writes to the shop's data. Called by the bot and by the admin; plain values in, models out."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet, TextChoices
from django.utils import timezone
from django.utils.translation import gettext as _

from shop import selectors
from shop.invoices import InvoiceTerms, invoice_payload, invoice_terms
from shop.models import Category, Product, Purchase, UnmatchedPayment, User
from shop.money import from_minor_units, to_minor_units

# A delivery that started this long ago without finishing is taken to have died with its process.
DELIVERY_CLAIM_TIMEOUT = timedelta(minutes=5)


def _fit(model, field: str, value: str | None) -> str:
    """Text from Telegram, made storable: cut to the column; NUL (PostgreSQL refuses it) and lone
    surrogates (not UTF-8) replaced."""
    text = (value or "").replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")
    return text[: model._meta.get_field(field).max_length]


def user_sync_from_telegram(
    *,
    telegram_id: int,
    username: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    language_code: str | None = None,
) -> User:
    """Create the customer, or bring their names up to date (Telegram users rename themselves).

    A user who writes to the bot has evidently not blocked it.
    """
    fresh = {
        "username": _fit(User, "username", username),
        "first_name": _fit(User, "first_name", first_name),
        "last_name": _fit(User, "last_name", last_name),
        "language_code": _fit(User, "language_code", language_code),
        "is_blocked": False,
    }
    user = User.objects.filter(telegram_id=telegram_id).first()  # the usual case: one query
    if user is None:
        try:
            with transaction.atomic():
                return User.objects.create(telegram_id=telegram_id, **fresh)
        except IntegrityError:  # created meanwhile by another worker
            user = User.objects.get(telegram_id=telegram_id)
    changed = [field for field, value in fresh.items() if getattr(user, field) != value]
    if changed:
        for field in changed:
            setattr(user, field, fresh[field])
        user.save(update_fields=[*changed, "updated_at"])
    return user


def user_set_blocked(*, telegram_id: int, blocked: bool) -> bool:
    """Record that the user blocked (or unblocked) the bot; False if we never met them."""
    return bool(User.objects.filter(telegram_id=telegram_id).update(is_blocked=blocked, updated_at=timezone.now()))


def product_set_on_sale(*, products: QuerySet[Product], on_sale: bool) -> int:
    """Put products on sale or take them off sale; returns how many changed."""
    return products.exclude(is_active=on_sale).update(is_active=on_sale, updated_at=timezone.now())


def product_set_file_id(*, product_id: int, file_id: str) -> None:
    """Remember the id Telegram gave an uploaded file, unless staff typed one meanwhile."""
    Product.objects.filter(pk=product_id, file_id="").update(file_id=file_id[:255])


# --- Buying ---


class CheckoutRefusal(TextChoices):
    INVALID = "invalid"
    NOT_YOURS = "not_yours"
    UNAVAILABLE = "unavailable"
    PRICE_CHANGED = "price_changed"
    ALREADY_OWNED = "already_owned"


def invoice_create(*, telegram_id: int, product: Product) -> tuple[InvoiceTerms, str]:
    """The terms of an invoice for `product` at today's price, and the signed payload carrying them."""
    if not product.is_active or product.price <= 0:
        raise ValidationError(_("This product cannot be bought."))
    terms = InvoiceTerms(telegram_id=telegram_id, product_id=product.pk, price=product.price, currency=product.currency)
    return terms, invoice_payload(terms)


def checkout_check(*, telegram_id: int, payload: str, currency: str, total_amount: int) -> CheckoutRefusal | None:
    """Whether Telegram may take the money (pre_checkout_query): None means yes."""
    terms = invoice_terms(payload)
    if terms is None:
        return CheckoutRefusal.INVALID
    if terms.telegram_id != telegram_id:
        return CheckoutRefusal.NOT_YOURS
    product = _product_with_ownership(product_id=terms.product_id, telegram_id=telegram_id, is_active=True)
    if product is None:
        return CheckoutRefusal.UNAVAILABLE
    if (
        terms.price != product.price
        or terms.currency != product.currency
        or currency != product.currency
        or total_amount != to_minor_units(product.price, product.currency)
    ):
        return CheckoutRefusal.PRICE_CHANGED
    if product.owned:
        return CheckoutRefusal.ALREADY_OWNED
    return None


def user_owns_product(*, telegram_id: int, product_id: int) -> bool:
    return selectors.owned_by(telegram_id=telegram_id, product_ref=product_id).exists()


def _product_with_ownership(*, product_id: int, telegram_id: int, **filters) -> Product | None:
    """The product and whether the user owns it (`owned`), in one query."""
    return selectors.products_with_ownership(telegram_id=telegram_id).filter(pk=product_id, **filters).first()


@dataclass
class PaymentOutcome:
    purchase: Purchase | None  # None only for an unmatched payment
    created: bool  # False: this payment had been recorded before
    unmatched: UnmatchedPayment | None = None


def purchase_record_payment(
    *,
    user: User,
    payload: str,
    currency: str,
    total_amount: int,
    payment_id: str,
    provider_payment_id: str = "",
) -> PaymentOutcome:
    """Record a successful payment exactly once, whatever it says.

    Telegram may deliver the same payment twice, and two processes may receive it at once:
    the unique payment id decides. Money that was taken is always recorded; a payment that
    does not match its invoice is kept for staff to review instead of handing out content.
    """
    payload = _fit(UnmatchedPayment, "payload", payload)
    payment_id = _fit(Purchase, "payment_id", payment_id)
    provider_payment_id = _fit(Purchase, "provider_payment_id", provider_payment_id)
    terms = invoice_terms(payload)
    product = _product_with_ownership(product_id=terms.product_id, telegram_id=user.telegram_id) if terms else None
    if not payment_id.strip():  # never from Telegram; kept for staff rather than lost or crashing
        product, payment_id = None, f"no-payment-id:{uuid.uuid4().hex}"
    if product is None:
        return _unmatched_payment_record(
            user=user,
            payload=payload,
            currency=_fit(UnmatchedPayment, "currency", currency),
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
    if remainder or price != terms.price:
        problems.append(f"paid {total_amount} (smallest units), invoice was for {terms.price} {terms.currency}")
    if product.owned:
        problems.append("the buyer already owned this product: paid twice? consider a refund")
    purchase = Purchase(
        user=user,
        product=product,
        price=price,
        currency=_fit(Purchase, "currency", currency),
        payment_type=Purchase.PaymentType.STARS if currency == "XTR" else Purchase.PaymentType.PROVIDER,
        payment_id=payment_id,
        provider_payment_id=provider_payment_id,
        review_reason="; ".join(problems)[:255],
        # whoever records the payment also holds its delivery (see purchase_claim_delivery)
        delivery_claimed_at=None if problems else timezone.now(),
    )
    purchase.clean_fields(exclude=["user", "product"])  # both just loaded: no need to ask the database again
    try:
        with transaction.atomic():
            purchase.save()
    except IntegrityError:
        # Recorded before (Telegram repeats updates) or by another worker just now: that record is the one.
        return PaymentOutcome(Purchase.objects.select_related("product", "user").get(payment_id=payment_id), False)
    return PaymentOutcome(purchase, created=True)


def _unmatched_payment_record(*, user: User, **fields) -> PaymentOutcome:
    try:
        with transaction.atomic():
            unmatched = UnmatchedPayment.objects.create(telegram_id=user.telegram_id, amount=fields.pop("total_amount"), **fields)
    except IntegrityError:
        return PaymentOutcome(None, created=False, unmatched=UnmatchedPayment.objects.get(payment_id=fields["payment_id"]))
    return PaymentOutcome(None, created=True, unmatched=unmatched)


def purchase_get_free(*, user: User, product: Product) -> tuple[Purchase, bool]:
    """A free product for the user; asking again returns the same purchase."""
    if not product.is_active or product.price != 0:
        raise ValidationError(_("This product is not free."))
    purchase = Purchase(
        user=user,
        product=product,
        price=0,
        currency=product.currency,
        payment_type=Purchase.PaymentType.FREE,
        payment_id=f"free:{user.telegram_id}:{product.pk}",
        delivery_claimed_at=timezone.now(),  # its delivery belongs to whoever creates it
    )
    try:
        with transaction.atomic():
            purchase.save()
    except IntegrityError:
        return Purchase.objects.select_related("product", "user").get(payment_id=purchase.payment_id), False
    return purchase, True


def purchase_grant(*, user: User, product: Product) -> Purchase:
    """Staff give a product to a customer, as if bought for free."""
    if user_owns_product(telegram_id=user.telegram_id, product_id=product.pk):
        raise ValidationError(_("%(user)s already has %(product)s.") % {"user": user, "product": product})
    purchase = Purchase(
        user=user,
        product=product,
        price=0,
        currency=product.currency,
        payment_type=Purchase.PaymentType.MANUAL,
        payment_id=f"manual:{uuid.uuid4().hex}",
    )
    purchase.full_clean()
    purchase.save()
    return purchase


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
    changed = Purchase.objects.filter(payment_id=payment_id, status=Purchase.Status.PAID).update(
        status=Purchase.Status.REFUNDED, refunded_at=timezone.now(), updated_at=timezone.now()
    )
    return Purchase.objects.filter(payment_id=payment_id).select_related("product").first(), bool(changed)


def purchase_approve(*, purchase: Purchase) -> None:
    """Staff checked a payment that needed review: the buyer may have the content."""
    Purchase.objects.filter(pk=purchase.pk).update(review_reason="", updated_at=timezone.now())


# --- Delivering ---


def purchase_claim_delivery(*, purchase_id: int, again: bool = False) -> Purchase | None:
    """Take the delivery of a purchase; None if it is not to be delivered, or another worker has it.

    The conditional update lets exactly one worker win, on SQLite and on PostgreSQL alike.
    """
    now = timezone.now()
    claimable = (
        Purchase.objects.giving_access()
        .filter(pk=purchase_id)
        .filter(Q(delivery_claimed_at__isnull=True) | Q(delivery_claimed_at__lt=now - DELIVERY_CLAIM_TIMEOUT))
    )
    if not again:
        claimable = claimable.filter(delivered_at__isnull=True)
    if not claimable.update(delivery_claimed_at=now):
        return None
    return Purchase.objects.select_related("product", "user").get(pk=purchase_id)


def purchase_release_delivery_claims(*, before) -> int:
    """Free deliveries claimed before `before` and never finished: their worker is gone."""
    return Purchase.objects.filter(delivery_claimed_at__lt=before, delivered_at__isnull=True).update(delivery_claimed_at=None)


def purchase_delivery_pending(*, purchase_id: int) -> bool:
    """Still to be delivered (e.g. while another worker's claim runs out)."""
    return Purchase.objects.giving_access().filter(pk=purchase_id, delivered_at__isnull=True).exists()


def purchase_mark_delivered(*, purchase: Purchase) -> None:
    Purchase.objects.filter(pk=purchase.pk).update(
        delivered_at=timezone.now(), delivery_claimed_at=None, delivery_error="", updated_at=timezone.now()
    )


def purchase_mark_delivery_failed(*, purchase: Purchase, error: str) -> None:
    Purchase.objects.filter(pk=purchase.pk).update(
        delivery_claimed_at=None, delivery_error=error[:255], updated_at=timezone.now()
    )


DEMO_CATALOG = [
    (
        "Software keys",
        [
            (
                "Text Editor Pro — 1 year",
                "A <b>one-year</b> licence key for Text Editor Pro.",
                50,
                "Your key: <code>TEPRO-DEMO-1234-5678</code>\nActivate it under Help → Licence.",
            ),
            (
                "Photo Filters Pack",
                "Thirty filters for your photos.",
                25,
                'Download: <a href="https://example.com/filters-demo">filters pack</a>',
            ),
            (
                "Password Vault — lifetime",
                "A <i>lifetime</i> licence for Password Vault.",
                120,
                "Your key: <code>PVAULT-DEMO-ABCD-EFGH</code>",
            ),
        ],
    ),
    (
        "Online courses",
        [
            (
                "Python in 30 days",
                "A self-paced course with exercises.",
                200,
                'Course link: <a href="https://example.com/python-course">open the course</a>\nAccess code: <code>PY30</code>',
            ),
            (
                "Django for shops",
                "Build a shop like this one.",
                250,
                'Course link: <a href="https://example.com/django-shops">open the course</a>',
            ),
        ],
    ),
    (
        "Free stuff",
        [
            (
                "Welcome guide",
                "A short guide to the shop. Free.",
                0,
                'Thanks for stopping by! Here is the guide: <a href="https://example.com/guide">guide</a>',
            ),
        ],
    ),
]


def demo_catalog_create() -> tuple[int, int]:
    """Fill in a small demo catalog; running it again creates nothing new.

    Returns (categories created, products created).
    """
    categories_created = products_created = 0
    with transaction.atomic():
        for category_name, products in DEMO_CATALOG:
            category, created = Category.objects.get_or_create(category_name=category_name)
            categories_created += created
            for name, description, price, hidden_content in products:
                _, created = Product.objects.get_or_create(
                    category=category,
                    name=name,
                    defaults={"description": description, "price": price, "hidden_content": hidden_content},
                )
                products_created += created
    return categories_created, products_created
