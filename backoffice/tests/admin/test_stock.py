"""Stock in the admin: adding units (pasted or from a file), what is left and sold, removing unsold units,
who may see a unit's content, and putting a refunded purchase's units back."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.auth.models import User as StaffUser
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from backoffice.testing import count_queries, messages_of, url
from shop.models import Purchase
from shop.services.payments import purchase_mark_refunded
from shop.stock.models import UNIT_MAX_LENGTH, StockUnit
from shop.testing.factories import PurchaseFactory, StockProductFactory, UserFactory, stocked
from shop.testing.payments import pay, payload_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def product():
    return StockProductFactory(name="Game key", price=10)


def add_stock_url(product) -> str:
    return reverse("admin:shop_product_stock_add", args=[product.pk])


def unit_url(name: str, *args) -> str:
    return reverse(f"admin:stock_stockunit_{name}", args=args)


def staff_with(username: str, *perms: str) -> Client:
    """Staff holding exactly `perms` ("app_label.codename")."""
    staff = StaffUser.objects.create_user(username, password="pw", is_staff=True)
    for perm in perms:
        app_label, codename = perm.split(".")
        staff.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    client = Client()
    client.force_login(staff)
    return client


def sold_unit(product, buyer=None):
    buyer = buyer or UserFactory()
    return pay(buyer, payload_for(buyer, product), total_amount=product.price, payment_id=f"c-{buyer.pk}").purchase


# --- adding stock ---


def test_pasted_units_are_added_and_duplicates_reported_by_line(admin_client, product):
    stocked(product, 1)  # KEY-1
    response = admin_client.post(add_stock_url(product), {"text": "A-1\nKEY-1\n\nA-2\n"}, follow=True)
    assert messages_of(response) == [("success", "2 units added; 1 duplicate skipped (line 2).")]
    assert StockUnit.objects.filter(product=product).count() == 3


def test_a_txt_file_is_added(admin_client, product):
    upload = SimpleUploadedFile("keys.txt", b"T-1\nT-2\nT-3\n", content_type="text/plain")
    response = admin_client.post(add_stock_url(product), {"file": upload}, follow=True)
    assert messages_of(response) == [("success", "3 units added.")]


def test_a_csv_file_with_a_header_is_added_with_named_parts(admin_client, product):
    upload = SimpleUploadedFile("accounts.csv", b"login,password\nann,pw1\n", content_type="text/csv")
    admin_client.post(add_stock_url(product), {"file": upload, "header": "on"})
    assert StockUnit.objects.get().content == "login: ann\npassword: pw1"


def test_a_bad_line_is_named_and_nothing_is_added(admin_client, product):
    response = admin_client.post(add_stock_url(product), {"text": "OK\n" + "x" * (UNIT_MAX_LENGTH + 1)})
    assert response.status_code == 200
    assert "Line 2 is 1001 characters long" in response.text
    assert not StockUnit.objects.exists()


def test_an_empty_form_asks_for_units(admin_client, product):
    response = admin_client.post(add_stock_url(product), {"text": "  \n"})
    assert "Paste some units, or choose a file." in response.text


def test_staff_without_the_permission_to_add_units_cannot(product):
    client = staff_with("viewer", "shop.view_product", "shop.change_product", "stock.view_stockunit")
    assert client.get(add_stock_url(product)).status_code == 403
    assert client.post(add_stock_url(product), {"text": "K"}).status_code == 403
    assert not StockUnit.objects.exists()


# --- what staff see ---


def test_product_list_shows_units_in_stock_without_a_query_per_row(admin_client, product):
    stocked(product, 3)
    sold_unit(product)
    page = url("product_changelist")
    response = admin_client.get(page)
    row = next(r for r in response.context["cl"].result_list if r.pk == product.pk)
    assert (row.units_unsold, row.units_sold) == (2, 1)
    few = count_queries(admin_client, page)
    for n in range(5):
        stocked(StockProductFactory(), 2, prefix=f"P{n}")
    assert count_queries(admin_client, page) == few


def test_product_page_shows_stock_figures_and_links(admin_client, product):
    stocked(product, 4)
    sold_unit(product)
    page = admin_client.get(url("product_change", product.pk)).text
    assert "3 not sold, 1 sold." in page
    assert add_stock_url(product) in page


def test_unit_contents_never_appear_in_the_list(admin_client, product):
    stocked(product, 2, prefix="SECRET")
    page = admin_client.get(unit_url("changelist")).text
    assert "SECRET-1" not in page and "SECRET-2" not in page


def test_a_unit_is_found_by_its_exact_content(admin_client, product):
    units = stocked(product, 3, prefix="FIND")
    response = admin_client.get(unit_url("changelist"), {"q": "FIND-2"})
    assert [u.pk for u in response.context["cl"].result_list] == [units[1].pk]


def test_a_units_content_is_shown_only_to_staff_who_may_change_products(admin_client, product):
    (unit,) = stocked(product, 1, prefix="SECRET")
    viewer = staff_with("viewer", "stock.view_stockunit")
    hidden = viewer.get(unit_url("change", unit.pk))
    assert hidden.status_code == 200 and "SECRET-1" not in hidden.text
    assert "Hidden: only staff who may change products see units." in hidden.text
    assert "SECRET-1" in admin_client.get(unit_url("change", unit.pk)).text


def test_removing_units_keeps_the_sold_ones(admin_client, product):
    stocked(product, 3)
    purchase = sold_unit(product)
    response = admin_client.post(
        unit_url("changelist"),
        {"action": "remove_unsold", "_selected_action": list(StockUnit.objects.values_list("pk", flat=True))},
        follow=True,
    )
    assert messages_of(response) == [("success", "2 units removed. 1 sold unit kept: sold units stay with their purchase.")]
    assert list(StockUnit.objects.values_list("purchase_id", flat=True)) == [purchase.pk]
    sold = StockUnit.objects.get()
    assert admin_client.post(unit_url("delete", sold.pk), {"post": "yes"}).status_code == 403


# --- purchases ---


def test_a_purchase_page_shows_its_units_to_staff_who_may_see_them(admin_client, product):
    stocked(product, 2, prefix="SECRET")
    purchase = sold_unit(product)
    assert "<code>SECRET-1</code>" in admin_client.get(url("purchase_change", purchase.pk)).text
    viewer = staff_with("accountant", "shop.view_purchase")
    page = viewer.get(url("purchase_change", purchase.pk)).text
    assert "SECRET-1" not in page and "1 unit (shown to staff who may change products)" in page


def test_staff_put_a_refunded_purchases_units_back_in_stock(admin_client, product):
    stocked(product, 1)
    purchase = sold_unit(product)
    paid = PurchaseFactory()  # not refunded: refused with a reason
    purchase_mark_refunded(payment_id=purchase.payment_id)
    response = admin_client.post(
        url("purchase_changelist"), {"action": "return_units", "_selected_action": [purchase.pk, paid.pk]}, follow=True
    )
    assert ("success", "1 unit put back in stock.") in messages_of(response)
    assert any("Only the units of a refunded purchase" in text for _level, text in messages_of(response))
    assert StockUnit.objects.filter(purchase__isnull=True).count() == 1
    assert Purchase.objects.get(pk=purchase.pk).units.get().returned_at is not None
