"""Customers in the admin: lists, search, what they bought and spent, blocking, grants."""

import pytest
from django.test import Client

from backoffice.admin.customers import CustomerAdmin
from backoffice.testing import (
    QUERY_BUDGET,
    bulk_purchases,
    change_form_data,
    count_queries,
    delivery_tasks,
    messages_of,
    result_pks,
    staff_client,
    url,
)
from shop.models import Purchase, User
from shop.testing.concurrency import run_at_once
from shop.testing.factories import ProductFactory, PurchaseFactory, UserFactory

pytestmark = pytest.mark.django_db

PURCHASES = url("purchase_changelist")


# --- Pages --------------------------------------------------------------------------------------


def test_customer_changelist_links_purchase_count_to_their_purchases(admin_client, purchase, buyer):
    PurchaseFactory(user=buyer, product=ProductFactory(category=purchase.product.category))
    other = PurchaseFactory(product=purchase.product)

    response = admin_client.get(url("user_changelist"))

    assert response.status_code == 200
    assert "ann" in response.text
    assert ">42<" in response.text
    link = f"{url('purchase_changelist')}?user__id__exact={buyer.pk}"
    assert f'<a href="{link}">2</a>' in response.text

    purchases = admin_client.get(link)
    assert purchases.status_code == 200
    assert result_pks(purchases) == set(buyer.purchases.values_list("pk", flat=True))
    assert other.pk not in result_pks(purchases)


def test_customer_change_page_shows_customer_and_purchases_inline(admin_client, purchase, buyer):
    response = admin_client.get(url("user_change", buyer.pk))

    assert response.status_code == 200
    assert "42" in response.text
    assert "ann" in response.text
    assert "Editor Pro" in response.text
    assert "⭐ 50" in response.text
    assert "stars-charge-abc" in response.text
    assert url("purchase_change", purchase.pk) in response.text
    (inline,) = response.context["inline_admin_formsets"]
    assert inline.has_change_permission is False
    assert inline.has_add_permission is False
    assert inline.has_delete_permission is False


def test_customers_sort_by_purchase_count(admin_client, purchase, buyer):
    newcomer = UserFactory()
    changelist = url("user_changelist")
    column = CustomerAdmin.list_display.index("purchases_link") + 1

    descending = admin_client.get(changelist, {"o": f"-{column}"})

    assert [u.pk for u in descending.context["cl"].result_list] == [buyer.pk, newcomer.pk]


def test_customer_page_queries_do_not_grow_with_purchases(admin_client, django_assert_max_num_queries, buyer, product):
    page = url("user_change", buyer.pk)
    bulk_purchases(1, user=buyer, product=product)
    admin_client.get(page)
    with django_assert_max_num_queries(QUERY_BUDGET):
        few = count_queries(admin_client, page)

    bulk_purchases(9, user=buyer, product=product)
    many = count_queries(admin_client, page)

    (inline,) = admin_client.get(page).context["inline_admin_formsets"]
    assert len(inline.formset.forms) == 10
    assert many == few


def test_customer_search(admin_client, buyer):
    other = UserFactory(telegram_id=1042, username="bob", first_name="Robert")
    changelist = url("user_changelist")

    assert result_pks(admin_client.get(changelist, {"q": "ann"})) == {buyer.pk}
    assert result_pks(admin_client.get(changelist, {"q": "robert"})) == {other.pk}
    assert result_pks(admin_client.get(changelist, {"q": "42"})) == {buyer.pk}  # exact, not 1042
    assert result_pks(admin_client.get(changelist, {"q": "1042"})) == {other.pk}


def test_customers_cannot_be_added(admin_client, buyer):
    assert admin_client.get(url("user_add")).status_code == 403
    assert admin_client.post(url("user_add"), {"telegram_id": 7}).status_code == 403
    assert url("user_add") not in admin_client.get(url("user_changelist")).text
    assert not User.objects.filter(telegram_id=7).exists()


def test_staff_toggle_customer_blocked(admin_client, purchase, buyer):
    page = url("user_change", buyer.pk)
    data = change_form_data(admin_client.get(page))
    data["is_blocked"] = "on"
    data["username"] = "forged"  # read-only: ignored
    data["telegram_id"] = "1"

    response = admin_client.post(page, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    buyer.refresh_from_db()
    assert buyer.is_blocked is True
    assert (buyer.username, buyer.telegram_id) == ("ann", 42)
    assert Purchase.objects.get(pk=purchase.pk).payment_id == "stars-charge-abc"


# --- Purchases and money spent ---------------------------------------------------------


def test_customer_list_shows_spent_per_currency(admin_client, buyer, bob, product):
    PurchaseFactory(user=buyer, product=product)
    PurchaseFactory(user=buyer, product=product)
    PurchaseFactory(user=buyer, product=product, in_roubles=True)
    PurchaseFactory(user=bob, product=product, refunded=True)
    newcomer = UserFactory()

    response = admin_client.get(url("user_changelist"))

    spent = {user.pk: [str(m) for m in user.spent] for user in response.context["cl"].result_list}
    assert spent == {buyer.pk: ["⭐ 100", "990 ₽"], bob.pk: [], newcomer.pk: []}
    assert '<span class="nowrap">⭐ 100</span><br><span class="nowrap">990 ₽</span>' in response.text
    assert f'<a href="{PURCHASES}?user__id__exact={buyer.pk}">3</a>' in response.text
    assert 'class="field-is_blocked"' in response.text


def test_staff_who_may_not_see_purchases_do_not_see_what_customers_spent(buyer, product):
    PurchaseFactory(user=buyer, product=product)
    support = staff_client("support", "view_user", "change_user")

    listing = support.get(url("user_changelist"))
    page = support.get(url("user_change", buyer.pk))

    assert listing.status_code == page.status_code == 200
    assert "⭐" not in listing.text and "spent" not in listing.text.lower()
    assert "ann" in listing.text and '<td class="field-purchase_count_display">1</td>' in listing.text
    assert PURCHASES not in listing.text  # no link to a list they may not open
    assert "ann" in page.text and "⭐" not in page.text

    accountant = staff_client("accountant", "view_user", "view_purchase")
    assert '<span class="nowrap">⭐ 50</span>' in accountant.get(url("user_changelist")).text
    assert "⭐ 50" in accountant.get(url("user_change", buyer.pk)).text


def test_customer_list_queries_do_not_grow_with_customers(admin_client, product):
    for _ in range(3):
        user = UserFactory()
        PurchaseFactory(user=user, product=product)
        PurchaseFactory(user=user, product=product, in_roubles=True)
    admin_client.get(url("user_changelist"))
    few = count_queries(admin_client, url("user_changelist"))

    for _ in range(12):
        user = UserFactory()
        PurchaseFactory(user=user, product=product)
        PurchaseFactory(user=user, product=product, in_roubles=True)
    many = count_queries(admin_client, url("user_changelist"))

    assert len(result_pks(admin_client.get(url("user_changelist")))) == 15
    assert many == few


# --- Grant -----------------------------------------------------------------------------------------


def test_view_only_staff_cannot_grant(viewer_client, buyer, product):
    grant = url("user_grant", buyer.pk)

    assert viewer_client.get(grant).status_code == 403
    assert viewer_client.post(grant, {"product": product.pk}).status_code == 403
    assert not Purchase.objects.exists()


def test_customer_page_links_to_grant_page_with_product_select(admin_client, buyer, product):
    grant = url("user_grant", buyer.pk)

    assert grant in admin_client.get(url("user_change", buyer.pk)).text

    response = admin_client.get(grant)
    assert response.status_code == 200
    assert '<select name="product"' in response.text
    assert f'<option value="{product.pk}">Editor Pro</option>' in response.text


def grant_form(client, customer: User, product) -> dict:
    """The grant form as the page shows it (with its one-time token), the product chosen."""
    shown = client.get(url("user_grant", customer.pk))
    assert shown.status_code == 200
    return {"product": product.pk, "token": shown.context["form"]["token"].value()}


def test_grant_creates_manual_purchase_and_delivers_it(admin_client, fake_api, run_due_tasks, buyer, product):
    response = admin_client.post(url("user_grant", buyer.pk), grant_form(admin_client, buyer, product))

    assert response.status_code == 302
    assert response.url == url("user_change", buyer.pk)
    granted = Purchase.objects.get()
    assert (granted.user, granted.product, granted.payment_type, granted.price, granted.status) == (
        buyer,
        product,
        Purchase.PaymentType.MANUAL,
        0,
        Purchase.Status.PAID,
    )
    assert [t["args"] for t in delivery_tasks()] == [[granted.pk]]
    assert messages_of(admin_client.get(response.url)) == [
        ("success", "Editor Pro granted to @ann; the bot delivers it within seconds.")
    ]

    assert run_due_tasks() == 1

    (call,) = fake_api.calls_of("sendMessage")
    assert int(call.params["chat_id"]) == 42
    assert "KEY-123" in call.params["text"]
    granted.refresh_from_db()
    assert granted.delivered_at is not None


def test_grant_of_owned_product_is_refused(admin_client, buyer, product):
    owned = PurchaseFactory(user=buyer, product=product, payment_id="charge-owned")

    response = admin_client.post(url("user_grant", buyer.pk), grant_form(admin_client, buyer, product))

    assert response.status_code == 200
    assert response.context["form"].errors == {"product": ["@ann already has Editor Pro."]}
    assert list(Purchase.objects.all()) == [owned]
    assert delivery_tasks() == []


def test_grant_form_sent_twice_grants_once_and_says_so(admin_client, fake_api, run_due_tasks, buyer, product):
    form = grant_form(admin_client, buyer, product)  # a double click sends the same form twice

    first = admin_client.post(url("user_grant", buyer.pk), form)
    messages_of(admin_client.get(first.url))
    second = admin_client.post(url("user_grant", buyer.pk), form)

    assert (first.status_code, second.status_code) == (302, 302)
    assert second.url == url("user_change", buyer.pk)
    assert messages_of(admin_client.get(second.url)) == [
        ("success", "Already granted: Editor Pro to @ann (this form was sent twice; it counts once).")
    ]
    granted = Purchase.objects.get()
    assert [t["args"] for t in delivery_tasks()] == [[granted.pk]]
    assert run_due_tasks() == 1
    assert len(fake_api.calls_of("sendMessage")) == 1


def test_grant_page_shown_again_grants_again(admin_client, buyer, bob, product):
    # A new visit to the page is a new grant: the token belongs to the form shown, not to the customer.
    admin_client.post(url("user_grant", buyer.pk), grant_form(admin_client, buyer, product))
    admin_client.post(url("user_grant", bob.pk), grant_form(admin_client, bob, product))

    assert sorted(Purchase.objects.values_list("user__username", flat=True)) == ["ann", "bob"]


def test_grant_form_without_its_token_grants_nothing(admin_client, buyer, product):
    response = admin_client.post(url("user_grant", buyer.pk), {"product": product.pk})

    assert response.status_code == 200
    assert response.context["form"].errors == {"token": ["This form is out of date: open the grant page again."]}
    assert not Purchase.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_grant_form_sent_twice_at_the_same_moment_grants_once(admin_user, buyer, product):
    clients = [Client(), Client()]
    for client in clients:
        client.force_login(admin_user)
    form = grant_form(clients[0], buyer, product)

    responses = run_at_once(lambda i: clients[i].post(url("user_grant", buyer.pk), form), 2)

    assert [response.status_code for response in responses] == [302, 302]
    granted = Purchase.objects.get()
    assert [t["args"] for t in delivery_tasks()] == [[granted.pk]]
