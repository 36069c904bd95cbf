"""Reviews in the admin: the list (escaped, flat in queries), hiding with a reason (asked on a page of its own),
showing again, and who may do it."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission
from django.contrib.auth.models import User as StaffUser
from django.test import Client
from django.urls import reverse

from backoffice.testing import QUERY_BUDGET, count_queries, messages_of, result_pks
from shop.reviews.models import Review
from shop.reviews.selectors import rating_summary
from shop.reviews.services import review_hide, review_rate
from shop.testing.factories import ProductFactory, PurchaseFactory, UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:reviews_review_changelist")
XSS = '<script>alert("x")</script>'


def review(product, rating: int = 5, text: str = "", **user_fields) -> Review:
    user = UserFactory(**user_fields)
    PurchaseFactory(user=user, product=product)
    written = review_rate(telegram_id=user.telegram_id, product_id=product.pk, rating=rating)
    Review.objects.filter(pk=written.pk).update(text=text)
    return Review.objects.get(pk=written.pk)


def staff_with(username: str, *codenames: str) -> Client:
    staff = StaffUser.objects.create_user(username, password="pw", is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(content_type__app_label="reviews", codename__in=codenames))
    client = Client()
    client.force_login(staff)
    return client


def hide(client, reviews, reason: str | None):
    data = {"action": "hide", ACTION_CHECKBOX_NAME: [r.pk for r in reviews]}
    if reason is not None:
        data |= {"apply": "Hide", "reason": reason}
    return client.post(CHANGELIST, data)


def test_the_list_shows_product_customer_rating_and_text_escaped(admin_client, product):
    shown = review(product, 4, f"Great {XSS}", first_name="Ann", username="ann")
    response = admin_client.get(CHANGELIST)
    assert response.status_code == 200
    assert result_pks(response) == {shown.pk}
    html = response.text
    assert "Editor Pro" in html and "★★★★☆" in html and "ann" in html
    assert XSS not in html and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    page = admin_client.get(reverse("admin:reviews_review_change", args=[shown.pk]))
    assert page.status_code == 200 and XSS not in page.text and "&lt;script&gt;" in page.text


def test_the_list_is_flat_in_queries(admin_client, product):
    for _n in range(3):
        review(product)
    admin_client.get(CHANGELIST)
    few = count_queries(admin_client, CHANGELIST)
    for _n in range(12):
        review(ProductFactory())
    assert few <= QUERY_BUDGET and count_queries(admin_client, CHANGELIST) == few


@pytest.mark.parametrize("term", ["ann", "42", "not a number", "99999999999999999999999"])
def test_search_never_crashes(admin_client, product, term):
    review(product, username="ann", telegram_id=42)
    assert admin_client.get(CHANGELIST, {"q": term}).status_code == 200


def test_hiding_asks_for_a_reason_then_hides_and_the_rating_drops(admin_client, product):
    spam, kept = review(product, 1, f"Buy elsewhere {XSS}"), review(product, 5)

    asked = hide(admin_client, [spam], None)
    assert asked.status_code == 200 and 'name="reason"' in asked.text
    assert XSS not in asked.text and "Buy elsewhere &lt;script&gt;" in asked.text
    assert not Review.objects.get(pk=spam.pk).hidden

    refused = hide(admin_client, [spam], "   ")  # a reason is required
    assert refused.status_code == 200 and "This field is required." in refused.text
    assert not Review.objects.get(pk=spam.pk).hidden

    done = hide(admin_client, [spam], "Advertising")
    assert done.status_code == 302
    assert ("success", "1 review hidden.") in messages_of(admin_client.get(CHANGELIST))
    spam.refresh_from_db()
    assert (spam.hidden, spam.hidden_reason) == (True, "Advertising")
    assert rating_summary(product_id=product.pk).count == 1 and rating_summary(product_id=product.pk).average == 5.0
    assert not Review.objects.get(pk=kept.pk).hidden


def test_showing_again_counts_the_review_again(admin_client, product):
    hidden = review(product, 2)
    review_hide(review=hidden, reason="Mistake")
    assert rating_summary(product_id=product.pk) is None
    admin_client.post(CHANGELIST, {"action": "show", ACTION_CHECKBOX_NAME: [hidden.pk]})
    assert not Review.objects.get(pk=hidden.pk).hidden
    assert rating_summary(product_id=product.pk).count == 1


def test_staff_who_may_only_look_cannot_hide(product):
    viewer = staff_with("viewer", "view_review")
    shown = review(product)
    response = viewer.get(CHANGELIST)
    assert response.status_code == 200
    assert 'value="hide"' not in response.text
    hide(viewer, [shown], "Spam")
    assert not Review.objects.get(pk=shown.pk).hidden


def test_staff_without_review_permissions_do_not_see_reviews(product):
    assert staff_with("nobody").get(CHANGELIST).status_code == 403


def test_staff_who_may_change_reviews_hide_them(product):
    moderator = staff_with("moderator", "view_review", "change_review")
    shown = review(product)
    assert hide(moderator, [shown], "Off topic").status_code == 302
    assert Review.objects.get(pk=shown.pk).hidden


def test_reviews_are_neither_added_nor_deleted_in_the_admin(admin_client, product):
    shown = review(product)
    assert admin_client.get(reverse("admin:reviews_review_add")).status_code == 403
    assert admin_client.get(reverse("admin:reviews_review_delete", args=[shown.pk])).status_code == 403
    assert 'value="delete_selected"' not in admin_client.get(CHANGELIST).text


def test_the_review_page_offers_nothing_to_edit_and_saving_it_changes_nothing(admin_client, product):
    shown = review(product, 3, "As written")
    page = reverse("admin:reviews_review_change", args=[shown.pk])
    assert "<textarea" not in admin_client.get(page).text
    assert admin_client.post(page, {"_save": "Save", "rating": "1", "text": "Forged"}).status_code == 302
    assert Review.objects.filter(pk=shown.pk).values_list("rating", "text").get() == (3, "As written")
    assert rating_summary(product_id=product.pk).average == 3.0
