"""Invoice payloads: signed, small enough for Telegram, impossible to forge or alter."""

import pytest
from django.core import signing

from shop.invoices import PAYLOAD_LIMIT, InvoiceTerms, invoice_payload, invoice_terms

BIGGEST_ID = 2**63 - 1  # BigIntegerField / BigAutoField
BIGGEST_PRICE = 2**31 - 1  # PositiveIntegerField


def test_payload_round_trips():
    terms = InvoiceTerms(telegram_id=42, product_id=7, price=50, currency="XTR")
    assert invoice_terms(invoice_payload(terms)) == terms


@pytest.mark.parametrize("currency", ["XTR", "RUB", "USD"])
def test_payload_fits_telegram_limit_with_the_largest_values(currency):
    terms = InvoiceTerms(telegram_id=BIGGEST_ID, product_id=BIGGEST_ID, price=BIGGEST_PRICE, currency=currency)
    payload = invoice_payload(terms)
    assert len(payload.encode()) <= PAYLOAD_LIMIT == 128
    assert invoice_terms(payload) == terms


def test_any_single_character_change_is_refused():
    payload = invoice_payload(InvoiceTerms(telegram_id=42, product_id=7, price=50, currency="XTR"))
    altered = set()
    for i, char in enumerate(payload):
        for replacement in "0159aAzZ:-_":
            if replacement != char:
                altered.add(payload[:i] + replacement + payload[i + 1 :])
        altered.add(payload[:i] + payload[i + 1 :])  # one character dropped
    assert altered
    assert [p for p in altered if invoice_terms(p) is not None] == []


def test_payload_signed_with_another_secret_key_is_refused(settings):
    settings.SECRET_KEY = "the-key-when-the-invoice-was-signed-" + "a" * 20
    payload = invoice_payload(InvoiceTerms(telegram_id=42, product_id=7, price=50, currency="XTR"))
    settings.SECRET_KEY = "another-key-used-to-check-the-payment-" + "b" * 20
    assert invoice_terms(payload) is None


def test_payload_signed_by_a_signer_with_another_key_is_refused():
    forged = signing.Signer(key="not-our-secret-key", salt="shop.invoice", algorithm="sha256").sign("42:7:1:XTR")
    assert invoice_terms(forged) is None


def test_truncated_payloads_are_refused():
    payload = invoice_payload(InvoiceTerms(telegram_id=42, product_id=7, price=50, currency="XTR"))
    assert [n for n in range(len(payload)) if invoice_terms(payload[:n]) is not None] == []


@pytest.mark.parametrize(
    "payload",
    [None, "", " ", "garbage", "42:7:50:XTR", "42:7:50:XTR:", ":::::", "42:7:1:XTR:" + "A" * 43, "\x00" * 10, "☃" * 40],
)
def test_garbage_payloads_are_refused(payload):
    assert invoice_terms(payload) is None


def test_genuinely_signed_but_malformed_payloads_are_refused():
    signer = signing.Signer(salt="shop.invoice", algorithm="sha256")
    for value in ["42:7:50", "42:7:50:XTR:extra", "ann:7:50:XTR", "42:seven:50:XTR", "42:7:1.5:XTR"]:
        assert invoice_terms(signer.sign(value)) is None, value


def test_payload_over_128_bytes_is_refused_even_when_genuinely_signed():
    too_long = signing.Signer(salt="shop.invoice", algorithm="sha256").sign("1" * 80 + ":7:50:XTR")
    assert len(too_long.encode()) > PAYLOAD_LIMIT
    assert invoice_terms(too_long) is None
    assert invoice_terms("x" * 129) is None
