"""Support conversations in the admin: read-only, per customer, linked from the customer's page."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from backoffice.testing import QUERY_BUDGET, count_queries, result_pks, url
from shop.support.models import SupportMessage
from shop.support.services import support_answer_record, support_message_from_customer

pytestmark = pytest.mark.django_db

SUPPORT = reverse("admin:support_supportmessage_changelist")


def conversation(customer, question="My key does not work", answer="Try again now") -> SupportMessage:
    asked = support_message_from_customer(customer=customer, kind="text", text=question, chat_message_id=10)
    return support_answer_record(answer_to=asked, staff_telegram_id=777, kind="text", text=answer, chat_message_id=20)


def test_customer_page_links_to_their_support_conversation(admin_client, buyer, bob):
    conversation(buyer)
    conversation(bob, question="Bob's question")

    page = admin_client.get(url("user_change", buyer.pk))
    link = f"{SUPPORT}?customer__id__exact={buyer.pk}"
    assert f'<a href="{link}">2 messages</a>' in page.text

    listed = admin_client.get(link)
    assert listed.status_code == 200
    assert result_pks(listed) == set(buyer.support_messages.values_list("pk", flat=True))
    assert "My key does not work" in listed.text and "Try again now" in listed.text
    assert "Bob&#x27;s question" not in listed.text


def test_support_messages_are_read_only(admin_client, buyer):
    answer = conversation(buyer)
    page = reverse("admin:support_supportmessage_change", args=[answer.pk])

    shown = admin_client.get(page)

    assert shown.status_code == 200
    assert "Try again now" in shown.text
    assert 'name="_save"' not in shown.text
    assert admin_client.get(reverse("admin:support_supportmessage_add")).status_code == 403
    assert admin_client.post(reverse("admin:support_supportmessage_delete", args=[answer.pk]), {"post": "yes"}).status_code == 403
    assert SupportMessage.objects.count() == 2


def test_support_list_is_searchable_by_customer(admin_client, buyer, bob):
    conversation(buyer)
    conversation(bob)

    assert {m.customer for m in admin_client.get(SUPPORT, {"q": "42"}).context["cl"].result_list} == {buyer}
    assert {m.customer for m in admin_client.get(SUPPORT, {"q": "bob"}).context["cl"].result_list} == {bob}


def test_support_list_queries_do_not_grow_with_messages(admin_client, buyer, bob, django_assert_max_num_queries):
    conversation(buyer)
    admin_client.get(SUPPORT)
    with django_assert_max_num_queries(QUERY_BUDGET):
        few = count_queries(admin_client, SUPPORT)

    for _ in range(5):
        conversation(bob)
    many = count_queries(admin_client, SUPPORT)

    assert many == few


def test_staff_who_may_not_read_support_see_no_link(viewer_client, buyer):
    conversation(buyer)

    page = viewer_client.get(url("user_change", buyer.pk))

    assert page.status_code == 200
    assert SUPPORT not in page.text
    assert viewer_client.get(SUPPORT).status_code == 403


def test_staff_allowed_to_read_support_see_the_conversation(viewer_client, buyer, django_user_model):
    conversation(buyer)
    viewer = django_user_model.objects.get(username="viewer")
    viewer.user_permissions.add(Permission.objects.get(content_type__app_label="support", codename="view_supportmessage"))

    assert SUPPORT in viewer_client.get(url("user_change", buyer.pk)).text
    assert viewer_client.get(SUPPORT).status_code == 200


def test_support_is_named_in_russian(russian, buyer):
    conversation(buyer)

    response = russian.get(SUPPORT, HTTP_ACCEPT_LANGUAGE="ru")

    assert "Сообщения поддержки" in response.text
    assert "от покупателя" in response.text
