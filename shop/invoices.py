"""Invoice payloads: who buys what at which price, signed so no client can forge or alter them.

`{telegram_id}:{product_id}:{price}:{currency}:{signature}` stays well under Telegram's 128 bytes.
"""

from dataclasses import dataclass

from django.core import signing

PAYLOAD_LIMIT = 128


def _signer() -> signing.Signer:
    # built per use: it copies SECRET_KEY when created
    return signing.Signer(salt="shop.invoice", algorithm="sha256")


@dataclass(frozen=True)
class InvoiceTerms:
    telegram_id: int
    product_id: int
    price: int
    currency: str


def invoice_payload(terms: InvoiceTerms) -> str:
    payload = _signer().sign(f"{terms.telegram_id}:{terms.product_id}:{terms.price}:{terms.currency}")
    assert len(payload.encode()) <= PAYLOAD_LIMIT
    return payload


def invoice_terms(payload: str | None) -> InvoiceTerms | None:
    """The terms a genuine payload carries; None if it was forged, altered or is malformed."""
    if not payload or len(payload.encode()) > PAYLOAD_LIMIT:
        return None
    try:
        telegram_id, product_id, price, currency = _signer().unsign(payload).split(":")
        return InvoiceTerms(int(telegram_id), int(product_id), int(price), currency)
    except (signing.BadSignature, ValueError):
        return None
