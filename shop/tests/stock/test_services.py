"""Stock: adding units, holding them at checkout, selling each unit to exactly one buyer, refunds."""

import io
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shop import signals
from shop.invoices import InvoiceTerms, invoice_payload
from shop.models import Purchase
from shop.services.delivery import purchase_request_delivery
from shop.services.payments import CheckoutRefusal, checkout_check, purchase_grant, purchase_mark_refunded
from shop.stock.models import UNIT_MAX_LENGTH, RestockRequest, StockUnit
from shop.stock.selectors import stock_available_count, units_owned
from shop.stock.services import (
    lines_from_file,
    lines_from_text,
    restock_request_add,
    stock_add,
    stock_hold,
    stock_remove_unsold,
    stock_return,
)
from shop.testing.concurrency import run_at_once
from shop.testing.factories import ProductFactory, PurchaseFactory, StockProductFactory, UserFactory, stocked
from shop.testing.payments import pay, payload_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def product():
    return StockProductFactory(price=10, max_per_order=10)


def contents(product) -> list[str]:
    return list(StockUnit.objects.filter(product=product).order_by("id").values_list("content", flat=True))


@pytest.fixture
def received():
    """received(signal): the list of what `signal` is sent with during the test."""
    listeners = []

    def _received(signal):
        seen = []

        def listener(sender, **kwargs):
            seen.append(kwargs)

        signal.connect(listener, weak=False)
        listeners.append((signal, listener))
        return seen

    yield _received
    for signal, listener in listeners:
        signal.disconnect(listener)


# --- adding stock ---


def test_pasted_units_are_added_one_a_line_and_empty_lines_skipped(product):
    report = stock_add(product=product, lines=lines_from_text("AAA-1\n\n  BBB-2  \r\n\t\nCCC-3"))
    assert (report.added, report.duplicates) == (3, 0)
    assert contents(product) == ["AAA-1", "BBB-2", "CCC-3"]
    assert str(report) == "3 units added."


def test_duplicates_in_stock_or_in_the_input_are_skipped_and_reported_by_line(product):
    stocked(product, 1, prefix="OLD")  # OLD-1
    report = stock_add(product=product, lines=lines_from_text("NEW-1\nOLD-1\nNEW-2\nNEW-1\nNEW-3"))
    assert (report.added, report.duplicates, report.duplicate_lines) == (3, 2, [2, 4])
    assert str(report) == "3 units added; 2 duplicates skipped (lines 2, 4)."
    assert sorted(contents(product)) == ["NEW-1", "NEW-2", "NEW-3", "OLD-1"]


def test_a_unit_already_sold_is_a_duplicate_too(product):
    buyer = UserFactory()
    stocked(product, 1)
    assert pay(buyer, payload_for(buyer, product), total_amount=10).purchase.units.count() == 1
    report = stock_add(product=product, lines=lines_from_text("KEY-1"))
    assert (report.added, report.duplicates) == (0, 1)


def test_the_same_unit_may_be_in_two_products(product):
    other = StockProductFactory()
    stock_add(product=product, lines=lines_from_text("SHARED"))
    assert stock_add(product=other, lines=lines_from_text("SHARED")).added == 1


def test_a_line_too_long_to_send_names_its_line_and_nothing_is_added(product):
    text = "OK-1\nOK-2\n" + "x" * (UNIT_MAX_LENGTH + 1) + "\nOK-3"
    with pytest.raises(ValidationError) as refused:
        stock_add(product=product, lines=lines_from_text(text))
    assert "Line 3" in refused.value.messages[0]
    assert StockUnit.objects.count() == 0


def test_an_error_after_many_chunks_leaves_nothing_half_imported(product):
    lines = "\n".join(f"K{n}" for n in range(5000)) + "\n" + "y" * (UNIT_MAX_LENGTH + 5)
    with pytest.raises(ValidationError, match="Line 5001"):
        stock_add(product=product, lines=lines_from_text(lines))
    assert StockUnit.objects.count() == 0


def test_a_product_not_sold_from_stock_refuses_units():
    with pytest.raises(ValidationError, match="not sold from stock"):
        stock_add(product=ProductFactory(), lines=lines_from_text("K"))


def test_a_txt_file_is_read_line_by_line(product):
    upload = io.BytesIO("\ufeffA-1\r\nA-2\n\nA-3\n".encode())
    assert stock_add(product=product, lines=lines_from_file(upload)).added == 3
    assert contents(product) == ["A-1", "A-2", "A-3"]


def test_csv_columns_are_a_units_parts(product):
    upload = io.BytesIO(b"ann@example.com,secret1\nbob@example.com,secret2\n")
    stock_add(product=product, lines=lines_from_file(upload, csv_columns=True))
    assert contents(product) == ["ann@example.com:secret1", "bob@example.com:secret2"]


def test_a_csv_header_names_the_parts_and_file_id_gives_a_file(product):
    upload = io.BytesIO(b"login;password;file_id\nann;pw1;BQACAgIA-1\nbob;pw2;\n")
    stock_add(product=product, lines=lines_from_file(upload, csv_columns=True, header=True))
    units = list(StockUnit.objects.filter(product=product).order_by("id"))
    assert [(u.content, u.file_id) for u in units] == [
        ("login: ann\npassword: pw1", "BQACAgIA-1"),
        ("login: bob\npassword: pw2", ""),
    ]


def test_a_file_that_is_not_utf8_is_refused_with_a_clear_message(product):
    with pytest.raises(ValidationError, match="not UTF-8"):
        stock_add(product=product, lines=lines_from_file(io.BytesIO("ключ".encode("cp1251"))))
    assert StockUnit.objects.count() == 0


def test_units_are_never_deleted_once_sold(product):
    buyer = UserFactory()
    stocked(product, 3)
    pay(buyer, payload_for(buyer, product), total_amount=10)
    sold = StockUnit.objects.get(purchase__isnull=False)
    with pytest.raises(ValidationError):
        sold.delete()
    with pytest.raises(ValidationError):
        StockUnit.objects.all().delete()
    assert stock_remove_unsold(units=StockUnit.objects.all()) == 2
    assert list(StockUnit.objects.all()) == [sold]


# --- selling ---


def test_a_payment_takes_as_many_distinct_units_as_it_paid_for(product):
    buyer = UserFactory()
    stocked(product, 5)
    outcome = pay(buyer, payload_for(buyer, product, quantity=3), total_amount=30)
    purchase = outcome.purchase
    assert (purchase.quantity, purchase.price, purchase.review_reason) == (3, 30, "")
    assert sorted(purchase.units.values_list("content", flat=True)) == ["KEY-1", "KEY-2", "KEY-3"]
    assert stock_available_count(product_id=product.pk, up_to=100) == 2


def test_the_same_payment_twice_takes_nothing_twice(product):
    buyer = UserFactory()
    stocked(product, 5)
    payload = payload_for(buyer, product, quantity=2)
    first = pay(buyer, payload, total_amount=20, payment_id="charge-twice")
    again = pay(buyer, payload, total_amount=20, payment_id="charge-twice")
    assert again.created is False and again.purchase.pk == first.purchase.pk
    assert StockUnit.objects.filter(purchase__isnull=False).count() == 2


def test_a_customer_may_buy_a_stock_product_again(product):
    buyer = UserFactory()
    stocked(product, 3)
    pay(buyer, payload_for(buyer, product), total_amount=10, payment_id="c1")
    second = pay(buyer, payload_for(buyer, product), total_amount=10, payment_id="c2")
    assert second.purchase.gives_access
    assert [u.content for u in units_owned(telegram_id=buyer.telegram_id, product_id=product.pk)] == ["KEY-1", "KEY-2"]


def test_allocation_queries_are_few_and_do_not_grow_with_stock(product):
    buyer = UserFactory()

    def queries_for_one_purchase(stock: int, charge: str) -> int:
        StockUnit.objects.filter(purchase__isnull=True).delete()
        stocked(product, stock, prefix=charge)
        payload = payload_for(buyer, product, quantity=2)
        with CaptureQueriesContext(connection) as queries:
            outcome = pay(buyer, payload, total_amount=20, payment_id=charge)
        assert outcome.purchase.units.count() == 2
        return len(queries)

    assert queries_for_one_purchase(10, "small") == queries_for_one_purchase(500, "large")


# --- holding at checkout ---


def test_pre_checkout_holds_the_units_for_the_invoice(product):
    ann, bob = UserFactory(), UserFactory()
    stocked(product, 2)
    payload = payload_for(ann, product, quantity=2)
    assert checkout_check(telegram_id=ann.telegram_id, payload=payload, currency="XTR", total_amount=20) is None
    assert stock_available_count(product_id=product.pk, up_to=10) == 0
    # Bob cannot take what Ann's checkout holds
    with pytest.raises(ValidationError, match="sold out"):
        payload_for(bob, product)
    # Ann's payment gets exactly the units held for her
    purchase = pay(ann, payload, total_amount=20).purchase
    assert purchase.units.count() == 2 and not purchase.review_reason


def test_pre_checkout_is_refused_when_stock_is_short(product):
    ann = UserFactory()
    stocked(product, 3)
    payload = payload_for(ann, product, quantity=3)
    StockUnit.objects.filter(content="KEY-3").delete()
    refusal = checkout_check(telegram_id=ann.telegram_id, payload=payload, currency="XTR", total_amount=30)
    assert refusal == CheckoutRefusal.SOLD_OUT
    assert StockUnit.objects.exclude(reservation="").count() == 0  # nothing half held


def test_a_repeated_pre_checkout_holds_nothing_more(product):
    ann = UserFactory()
    stocked(product, 5)
    payload = payload_for(ann, product, quantity=2)
    for _ in range(3):
        assert checkout_check(telegram_id=ann.telegram_id, payload=payload, currency="XTR", total_amount=20) is None
    assert stock_available_count(product_id=product.pk, up_to=10) == 3


def test_a_hold_that_runs_out_puts_the_units_back_on_sale(product):
    ann = UserFactory()
    stocked(product, 1)
    assert stock_hold(product=product, quantity=1, key="ann-invoice")
    assert not stock_hold(product=product, quantity=1, key="bob-invoice")
    StockUnit.objects.update(reserved_until=timezone.now() - timedelta(seconds=1))  # ten minutes later
    assert stock_hold(product=product, quantity=1, key="bob-invoice")
    # Ann pays late after all: her hold is gone and the last unit is Bob's
    outcome = pay(ann, _late_payload(ann, product), total_amount=10)
    assert outcome.out_of_stock and not outcome.purchase.units.exists()


def _late_payload(user, product, quantity: int = 1):
    """An invoice made while stock was there (its payment may come much later, or at the same time as others)."""
    return invoice_payload(InvoiceTerms(user.telegram_id, product.pk, product.price, "XTR", quantity))


# --- out of stock ---


def test_a_payment_stock_cannot_cover_is_kept_for_a_refund_and_takes_nothing(product):
    ann = UserFactory()
    stocked(product, 3)
    payload = payload_for(ann, product, quantity=3)
    StockUnit.objects.filter(content="KEY-3").delete()
    outcome = pay(ann, payload, total_amount=30)
    purchase = outcome.purchase
    assert outcome.created and outcome.out_of_stock
    assert purchase.review_reason.startswith("out of stock: paid for 3, 2 available")
    assert not purchase.gives_access and purchase.units.count() == 0
    assert stock_available_count(product_id=product.pk, up_to=10) == 2  # nothing half taken
    assert Purchase.objects.get().price == 30  # the money is on record


@pytest.mark.django_db(transaction=True)
def test_fifty_buyers_paying_at_once_for_the_last_ten_units_get_ten_units_each_sold_once():
    product = StockProductFactory(price=10)
    stocked(product, 10)
    buyers = [UserFactory(telegram_id=5000 + i) for i in range(50)]
    payloads = [_late_payload(buyer, product) for buyer in buyers]

    outcomes = run_at_once(lambda i: pay(buyers[i], payloads[i], total_amount=10, payment_id=f"race-{i}"), 50)

    served = [o.purchase for o in outcomes if not o.out_of_stock]
    refunded = [o.purchase for o in outcomes if o.out_of_stock]
    assert (len(served), len(refunded), Purchase.objects.count()) == (10, 40, 50)
    sold = list(StockUnit.objects.filter(purchase__isnull=False).values_list("content", "purchase_id"))
    assert sorted(content for content, _p in sold) == sorted(f"KEY-{n}" for n in range(1, 11))
    assert sorted(purchase_id for _c, purchase_id in sold) == sorted(p.pk for p in served)
    assert all(p.units.count() == 0 for p in refunded)


@pytest.mark.django_db(transaction=True)
def test_checkouts_at_once_for_the_last_units_hold_each_unit_once():
    product = StockProductFactory(price=10)
    stocked(product, 5)
    buyers = [UserFactory(telegram_id=6000 + i) for i in range(20)]
    payloads = [_late_payload(buyer, product) for buyer in buyers]

    answers = run_at_once(
        lambda i: checkout_check(telegram_id=buyers[i].telegram_id, payload=payloads[i], currency="XTR", total_amount=10), 20
    )

    assert answers.count(None) == 5
    assert answers.count(CheckoutRefusal.SOLD_OUT) == 15
    assert StockUnit.objects.exclude(reservation="").values("reservation").distinct().count() == 5


# --- refunds ---


def test_a_refund_takes_the_units_away_and_does_not_put_them_back_by_itself(product):
    ann = UserFactory()
    stocked(product, 2)
    purchase = pay(ann, payload_for(ann, product), total_amount=10).purchase
    purchase_mark_refunded(payment_id=purchase.payment_id)
    assert units_owned(telegram_id=ann.telegram_id, product_id=product.pk) == []
    assert stock_available_count(product_id=product.pk, up_to=10) == 1


def test_staff_may_put_a_refunded_purchases_units_back_and_history_stays(product):
    ann, bob = UserFactory(), UserFactory()
    stocked(product, 1)
    purchase = pay(ann, payload_for(ann, product), total_amount=10).purchase
    with pytest.raises(ValidationError):
        stock_return(purchase=purchase)  # not refunded
    purchase, _changed = purchase_mark_refunded(payment_id=purchase.payment_id)
    assert stock_return(purchase=purchase) == 1
    assert stock_return(purchase=purchase) == 0  # once
    assert purchase.units.get().returned_at is not None  # history: still the one Ann had
    again = pay(bob, payload_for(bob, product), total_amount=10, payment_id="bob").purchase
    assert [u.content for u in again.units.all()] == ["KEY-1"]


# --- alerts and waiting customers ---


def test_staff_are_alerted_once_at_the_threshold_and_once_when_it_runs_out(received):
    alerts = received(signals.stock_low)
    product = StockProductFactory(price=10, low_stock_threshold=2)
    stocked(product, 5)
    buyers = [UserFactory() for _ in range(5)]
    for i, buyer in enumerate(buyers):
        pay(buyer, payload_for(buyer, product), total_amount=10, payment_id=f"c{i}")
    assert [(a["level"], a["available"]) for a in alerts if a["product_id"] == product.pk] == [("low", 2), ("out", 0)]
    # restocking re-arms them
    stock_add(product=product, lines=lines_from_text("\n".join(f"N{n}" for n in range(5))))
    product.refresh_from_db()
    assert product.stock_alert == ""


def test_adding_stock_announces_it_when_customers_wait(received):
    added = received(signals.stock_added)
    product = StockProductFactory()
    stock_add(product=product, lines=lines_from_text("A"))
    assert added == []  # nobody waits
    assert restock_request_add(user=UserFactory(), product=product) is True
    stock_add(product=product, lines=lines_from_text("B"))
    assert [a["product_id"] for a in added] == [product.pk]


def test_asking_twice_to_be_told_is_one_request(product):
    ann = UserFactory()
    assert restock_request_add(user=ann, product=product) is True
    assert restock_request_add(user=ann, product=product) is False
    assert RestockRequest.objects.count() == 1


def test_staff_grant_a_unit_from_stock_and_may_grant_another(product):
    ann = UserFactory()
    stocked(product, 2)
    first, _created = purchase_grant(user=ann, product=product)
    second, _created = purchase_grant(user=ann, product=product)  # a replacement key
    assert [u.content for u in first.units.all()] == ["KEY-1"]
    assert [u.content for u in second.units.all()] == ["KEY-2"]
    with pytest.raises(ValidationError, match="out of stock"):
        purchase_grant(user=ann, product=product)
    assert Purchase.objects.count() == 2  # the refused grant left nothing behind


# --- staff handing over a purchase recorded out of stock ---


def _out_of_stock_purchase(product, quantity: int = 2):
    buyer = UserFactory()
    stocked(product, quantity)
    payload = payload_for(buyer, product, quantity=quantity)
    StockUnit.objects.all().delete()
    outcome = pay(buyer, payload, total_amount=product.price * quantity, payment_id=f"oos-{buyer.pk}")
    assert outcome.out_of_stock
    return outcome.purchase


def test_staff_hand_over_an_out_of_stock_purchase_once_stock_is_added(product):
    purchase = _out_of_stock_purchase(product)
    with pytest.raises(ValidationError, match="Not enough stock"):
        purchase_request_delivery(purchase=purchase)
    stock_add(product=product, lines=lines_from_text("NEW-1\nNEW-2\nNEW-3"))
    assert purchase_request_delivery(purchase=purchase) is True
    purchase.refresh_from_db()
    assert purchase.gives_access and sorted(purchase.units.values_list("content", flat=True)) == ["NEW-1", "NEW-2"]
    assert purchase_request_delivery(purchase=purchase) is True  # sent again: no more units taken
    assert purchase.units.count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_staff_handing_over_at_once_give_the_units_once():
    product = StockProductFactory(price=10)
    purchase = _out_of_stock_purchase(product)
    stock_add(product=product, lines=lines_from_text("\n".join(f"NEW-{n}" for n in range(10))))
    run_at_once(lambda i: purchase_request_delivery(purchase=Purchase.objects.get(pk=purchase.pk)), 4)
    assert Purchase.objects.get(pk=purchase.pk).units.count() == 2
    assert StockUnit.objects.filter(purchase__isnull=False).count() == 2


def test_a_purchase_made_before_the_product_was_sold_from_stock_gets_no_units_when_resent():
    product = ProductFactory(price=10, hidden_content="shared")
    old = PurchaseFactory(product=product)
    product.sells_units = True
    product.save()
    stocked(product, 3)
    assert purchase_request_delivery(purchase=old) is True
    assert old.units.count() == 0 and stock_available_count(product_id=product.pk, up_to=10) == 3


def test_a_unit_sold_after_it_was_loaded_is_not_deleted(product):
    (unit,) = stocked(product, 1)
    buyer = UserFactory()
    pay(buyer, payload_for(buyer, product), total_amount=10)  # sold meanwhile; `unit` still says unsold
    with pytest.raises(ValidationError):
        unit.delete()
    assert StockUnit.objects.filter(pk=unit.pk, purchase__isnull=False).exists()


def test_a_malformed_csv_line_is_named(product):
    upload = io.BytesIO(b"a,b\nc," + b"x" * 200_000 + b"\n")  # a field larger than csv reads
    with pytest.raises(ValidationError, match="Line 2 of the CSV file cannot be read"):
        stock_add(product=product, lines=lines_from_file(upload, csv_columns=True))
    assert not StockUnit.objects.exists()
