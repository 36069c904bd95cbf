"""Paying through the shop's own services, as the bot does with Telegram's updates.

Where a test needs a purchase as a payment records it (signed invoice, the recorder holding its
delivery), not just a row in the database (`PurchaseFactory`).
"""

from shop.models import Product, Purchase, User
from shop.services.payments import PaymentOutcome, invoice_create, purchase_record_payment


def payload_for(user: User, product: Product, quantity: int = 1) -> str:
    """The signed payload of the invoice the bot would send `user` for `quantity` of `product` today."""
    return invoice_create(telegram_id=user.telegram_id, product=product, quantity=quantity)[1]


def pay(
    user: User, payload: str, *, total_amount: int = 50, currency: str = "XTR", payment_id: str = "charge-1", **extra
) -> PaymentOutcome:
    """Record a successful_payment from `user` for the invoice `payload`."""
    return purchase_record_payment(
        user=user, payload=payload, currency=currency, total_amount=total_amount, payment_id=payment_id, **extra
    )


def paid_purchase(user: User, product: Product, *, payment_id: str = "charge-1") -> Purchase:
    """`user` paid the invoice for `product` in full: a purchase that gives access."""
    outcome = pay(user, payload_for(user, product), total_amount=product.price, payment_id=payment_id)
    assert outcome.created and outcome.purchase.gives_access
    return outcome.purchase
