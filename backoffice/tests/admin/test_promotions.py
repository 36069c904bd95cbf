"""Promotions in the admin: codes with their uses, revenue and discount (in the list's own query), creating a
code (any case typed, stored upper-case, unique in any case), each use with its note, referrals and referrers
with what they brought, who may see revenue, and discounts on the dashboard and in the CSV export."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.auth.models import User as StaffUser
from django.test import Client
from django.urls import reverse

from backoffice.testing import table_rows
from shop.money import to_minor_units
from shop.promotions.models import PromoCode, PromoRedemption
from shop.services.payments import checkout_check, invoice_create, purchase_mark_refunded
from shop.testing.factories import ProductFactory, UserFactory
from shop.testing.payments import pay
from shop.testing.promotions import PromoCodeFactory, ReferralFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def stars(settings):
    settings.SHOP_CURRENCY = "XTR"
    settings.SHOP_REFERRAL_REWARD_PERCENT = 10


def promo_url(model: str, name: str, *args) -> str:
    return reverse(f"admin:promotions_{model}_{name}", args=args)


def staff_with(username: str, *perms: str) -> Client:
    staff = StaffUser.objects.create_user(username, password="pw", is_staff=True)
    for perm in perms:
        app_label, codename = perm.split(".")
        staff.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    client = Client()
    client.force_login(staff)
    return client


def buy_with(user, product, code, charge):
    terms, payload = invoice_create(telegram_id=user.telegram_id, product=product, promo_code=code)
    total = to_minor_units(terms.total, terms.currency)
    assert checkout_check(telegram_id=user.telegram_id, payload=payload, currency="XTR", total_amount=total) is None
    return pay(user, payload, total_amount=total, payment_id=charge).purchase


def test_codes_list_uses_revenue_and_discount(admin_client):
    product = ProductFactory(price=100)
    code = PromoCodeFactory(code="SAVE10", value=10, max_uses=5)
    PromoCodeFactory(code="UNUSED")
    buy_with(UserFactory(), product, code, "a")
    refunded = buy_with(UserFactory(), product, code, "b")
    purchase_mark_refunded(payment_id=refunded.payment_id)

    response = admin_client.get(promo_url("promocode", "changelist"))

    rows = table_rows(response.text, 'id="result_list"')
    assert any(row.startswith("SAVE10 10% ") and "2 / 5 ⭐ 90 ⭐ 10" in row for row in rows), rows
    assert any(row.startswith("UNUSED") and " 0 ⭐ 0 ⭐ 0 " in row for row in rows), rows


def test_the_codes_list_takes_no_query_per_row(admin_client, django_assert_max_num_queries):
    product = ProductFactory(price=100)
    admin_client.get(promo_url("promocode", "changelist"))  # warm up (session, content types)
    for n in range(3):
        buy_with(UserFactory(), product, PromoCodeFactory(code=f"FEW{n}"), f"few-{n}")
    with django_assert_max_num_queries(8) as few:
        admin_client.get(promo_url("promocode", "changelist"))
    for n in range(30):
        buy_with(UserFactory(), product, PromoCodeFactory(code=f"MANY{n}"), f"many-{n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        admin_client.get(promo_url("promocode", "changelist"))


def test_referral_lists_take_no_query_per_row(admin_client, django_assert_max_num_queries):
    admin_client.get(promo_url("referral", "changelist"))
    ann = UserFactory()
    ReferralFactory(referrer=ann, referred=UserFactory())
    with django_assert_max_num_queries(8) as few_referrals:
        admin_client.get(promo_url("referral", "changelist"))
    with django_assert_max_num_queries(8) as few_referrers:
        admin_client.get(promo_url("referrer", "changelist"))
    for _n in range(20):
        ReferralFactory(referrer=UserFactory(), referred=UserFactory())
    with django_assert_max_num_queries(len(few_referrals.captured_queries)):
        admin_client.get(promo_url("referral", "changelist"))
    with django_assert_max_num_queries(len(few_referrers.captured_queries)):
        admin_client.get(promo_url("referrer", "changelist"))


def test_referrers_and_referrals_show_what_the_invited_customers_paid(admin_client):
    ann = UserFactory(username="ann")
    bob, carol = UserFactory(username="bob"), UserFactory(username="carol")
    ReferralFactory(referrer=ann, referred=bob)
    ReferralFactory(referrer=ann, referred=carol)
    product = ProductFactory(price=70)
    _terms, payload = invoice_create(telegram_id=bob.telegram_id, product=product)
    pay(bob, payload, total_amount=70, payment_id="bob-1")  # bob's first purchase: ann's reward

    referrers = table_rows(admin_client.get(promo_url("referrer", "changelist")).text, 'id="result_list"')
    assert referrers == [f"@ann {ann.telegram_id} 2 ⭐ 70"]
    referrals = table_rows(admin_client.get(promo_url("referral", "changelist")).text, 'id="result_list"')
    assert any("@ann @bob ⭐ 70 R" in row for row in referrals), referrals
    assert any(row.endswith("@ann @carol ⭐ 0 -") for row in referrals), referrals


def test_staff_who_may_not_see_purchases_see_no_revenue(admin_client):
    PromoCodeFactory(code="SAVE10")
    client = staff_with("marketing", "promotions.view_promocode", "promotions.add_promocode")
    response = client.get(promo_url("promocode", "changelist"))
    assert response.status_code == 200 and "SAVE10" in response.text
    assert "revenue" not in response.text.lower()
    assert client.get(reverse("admin:shop_purchase_changelist")).status_code == 403


def test_staff_without_the_permission_cannot_open_codes():
    client = staff_with("someone", "shop.view_product")
    assert client.get(promo_url("promocode", "changelist")).status_code == 403


def test_a_code_is_created_upper_case_and_unique_in_any_case(admin_client):
    data = {
        "code": "spring25",
        "kind": "percent",
        "value": "25",
        "is_active": "on",
        "per_customer": "1",
        "redemptions-TOTAL_FORMS": "0",
        "redemptions-INITIAL_FORMS": "0",
    }
    response = admin_client.post(promo_url("promocode", "add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert PromoCode.objects.get().code == "SPRING25"
    again = admin_client.post(promo_url("promocode", "add"), {**data, "code": "Spring25"})
    assert again.status_code == 200 and PromoCode.objects.count() == 1
    too_much = admin_client.post(promo_url("promocode", "add"), {**data, "code": "HALF", "value": "150"})
    assert too_much.status_code == 200 and "at most 100" in too_much.text


def test_uses_show_the_note_of_one_honoured_after_the_code_ran_out(admin_client):
    code = PromoCodeFactory(code="LAST", max_uses=1)
    user = UserFactory()
    _terms, payload = invoice_create(telegram_id=user.telegram_id, product=ProductFactory(price=100), promo_code=code)
    buy_with(UserFactory(), ProductFactory(price=100), code, "first")  # the last use goes first
    pay(user, payload, total_amount=90, payment_id="late")  # paid without a hold: honoured anyway
    assert PromoRedemption.objects.filter(note__startswith="honoured").count() == 1
    response = admin_client.get(promo_url("promoredemption", "changelist"))
    assert "honoured after the code ran out" in response.text


def test_dashboard_and_export_show_discounts(admin_client):
    buy_with(UserFactory(username="ann"), ProductFactory(price=100, name="Thing"), PromoCodeFactory(code="SAVE10"), "x")
    dashboard = admin_client.get(reverse("admin:index"))
    assert "Promo code discounts" in dashboard.text and "⭐ 10" in dashboard.text
    export = admin_client.get(reverse("admin:shop_purchase_export"))
    text = b"".join(export.streaming_content).decode()
    assert "promo code,discount" in text.splitlines()[0]
    assert text.splitlines()[1].endswith(",SAVE10,10")
