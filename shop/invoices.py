"""Invoice payloads: who buys what at which price, signed so no client can forge or alter them.

`{telegram_id}:{product_id}:{price}:{currency}:{quantity}:{key}:{signature}` stays well under
Telegram's 128 bytes. `price` is one unit's; the invoice is for price * quantity. `key` is the
invoice's own random key: the units held for its checkout are held under it. Payloads of invoices
sent before quantities existed (`{telegram_id}:{product_id}:{price}:{currency}:{signature}`) are
read as one unit. An invoice at a promo code's price ends with the code (`...:{key}:{code}`,
`price` then the discounted one); invoices without it are read as before.
"""

import secrets
from dataclasses import dataclass, field

from django.core import signing

PAYLOAD_LIMIT = 128


def _signer() -> signing.Signer:
    # built per use: it copies SECRET_KEY when created
    return signing.Signer(salt="shop.invoice", algorithm="sha256")


def new_invoice_key() -> str:
    return secrets.token_urlsafe(9)  # 12 characters, 72 random bits


@dataclass(frozen=True)
class InvoiceTerms:
    telegram_id: int
    product_id: int
    price: int  # of one unit
    currency: str
    quantity: int = 1
    key: str = field(default_factory=new_invoice_key, compare=False)  # identifies the invoice, not its terms
    code: str = ""  # the promo code `price` was given with (shop.promotions), if any

    @property
    def total(self) -> int:
        return self.price * self.quantity


def invoice_payload(terms: InvoiceTerms) -> str:
    fields = f"{terms.telegram_id}:{terms.product_id}:{terms.price}:{terms.currency}:{terms.quantity}:{terms.key}"
    payload = _signer().sign(f"{fields}:{terms.code}" if terms.code else fields)
    assert len(payload.encode()) <= PAYLOAD_LIMIT
    return payload


def invoice_terms(payload: str | None) -> InvoiceTerms | None:
    """The terms a genuine payload carries; None if it was forged, altered or is malformed."""
    if not payload or len(payload.encode()) > PAYLOAD_LIMIT:
        return None
    try:
        parts = _signer().unsign(payload).split(":")
        if len(parts) == 4:  # an invoice sent before quantities existed
            telegram_id, product_id, price, currency = parts
            return InvoiceTerms(int(telegram_id), int(product_id), int(price), currency, 1, "")
        code = parts.pop() if len(parts) == 7 else ""  # an invoice at a promo code's price
        telegram_id, product_id, price, currency, quantity, key = parts
        terms = InvoiceTerms(int(telegram_id), int(product_id), int(price), currency, int(quantity), key, code)
    except (signing.BadSignature, ValueError):
        return None
    return terms if terms.quantity >= 1 else None
