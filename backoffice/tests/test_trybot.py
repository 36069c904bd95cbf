"""Try the bot in the admin: the page and its JSON endpoints (staff only, CSRF-protected)."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from backoffice.testing import staff_client
from shop.models import Purchase, User
from shop.trial import trial_customer_id

pytestmark = pytest.mark.django_db


def post(client, name: str, body: dict) -> dict:
    response = client.post(f"/admin/try-the-bot/{name}/", json.dumps(body), content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def bot_messages(answer: dict) -> list[dict]:
    return [m for m in answer["messages"] if m["from_bot"]]


def button(message: dict, text_part: str) -> str:
    return next(b["data"] for row in message["buttons"] for b in row if text_part in b["text"])


def buy_through_the_page(client, product) -> dict:
    answer = post(client, "send", {"text": "/start"})
    menu = bot_messages(answer)[-1]
    answer = post(client, "press", {"message_id": menu["id"], "data": button(menu, "Catalog")})
    catalog = bot_messages(answer)[-1]
    answer = post(client, "press", {"message_id": catalog["id"], "data": button(catalog, "Keys")})
    category = bot_messages(answer)[-1]
    answer = post(client, "press", {"message_id": category["id"], "data": button(category, product.name)})
    card = bot_messages(answer)[-1]
    answer = post(client, "press", {"message_id": card["id"], "data": button(card, "Buy")})
    invoice = bot_messages(answer)[-1]
    assert invoice["invoice"]["paid"] is False
    return post(client, "pay", {"message_id": invoice["id"]})


def test_the_page_shows_the_chat_to_staff(admin_client):
    response = admin_client.get("/admin/try-the-bot/")
    assert response.status_code == 200
    assert b"trybot.js" in response.content and b"Start over" in response.content
    index = admin_client.get("/admin/")
    assert b"/admin/try-the-bot/" in index.content  # a way to it on the front page


def test_staff_who_may_only_look_can_try_the_bot_too(product):
    client = staff_client("viewer", "view_product")
    answer = post(client, "send", {"text": "/start"})
    assert "What would you like to do?" in bot_messages(answer)[-1]["html"]


def test_nobody_else_reaches_it(product):
    anonymous = Client()
    assert anonymous.get("/admin/try-the-bot/").status_code == 302
    response = anonymous.post("/admin/try-the-bot/send/", '{"text": "/start"}', content_type="application/json")
    assert response.status_code == 302  # to the login page
    customer = get_user_model().objects.create_user("customer", password="pw")  # not staff
    client = Client()
    client.force_login(customer)
    assert client.post("/admin/try-the-bot/send/", '{"text": "/start"}', content_type="application/json").status_code == 302
    purchases_only = staff_client("accountant", "view_purchase")  # staff who may not see the products
    assert purchases_only.get("/admin/try-the-bot/").status_code == 403
    assert purchases_only.post("/admin/try-the-bot/send/", "{}", content_type="application/json").status_code == 403
    assert b"try-the-bot" not in purchases_only.get("/admin/").content
    assert not User.objects.exists()


def test_posts_need_the_csrf_token(admin_user, product):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    response = client.post("/admin/try-the-bot/send/", '{"text": "/start"}', content_type="application/json")
    assert response.status_code == 403
    page = client.get("/admin/try-the-bot/")
    token = page.cookies["csrftoken"].value
    response = client.post(
        "/admin/try-the-bot/send/", '{"text": "/start"}', content_type="application/json", headers={"X-CSRFToken": token}
    )
    assert response.status_code == 200


def test_start_catalog_product_pay_then_my_purchases(admin_client, admin_user, product):
    answer = buy_through_the_page(admin_client, product)

    assert answer["checkout_error"] is None
    assert any("KEY-123" in m.get("html", "") for m in bot_messages(answer))
    purchase = Purchase.objects.get()
    assert purchase.payment_type == Purchase.PaymentType.TEST
    assert purchase.user.telegram_id == trial_customer_id(staff_id=admin_user.pk)
    last = bot_messages(answer)[-1]
    answer = post(admin_client, "press", {"message_id": last["id"], "data": button(last, "My purchases")})
    assert "You have 1 purchase" in bot_messages(answer)[-1]["html"]

    polled = admin_client.get("/admin/try-the-bot/messages/").json()
    assert polled["messages"] == answer["messages"]


def test_a_press_answered_with_a_notice_shows_it(admin_client, product):
    buy_through_the_page(admin_client, product)
    answer = admin_client.get("/admin/try-the-bot/messages/").json()
    card = next(m for m in reversed(answer["messages"]) if any("Buy" in b["text"] for row in m["buttons"] for b in row))
    answer = post(admin_client, "press", {"message_id": card["id"], "data": button(card, "Buy")})
    assert answer["toasts"] == ["You already own this product."]
    assert "KEY-123" in bot_messages(answer)[-1]["html"] or "KEY-123" in bot_messages(answer)[-2]["html"]
    assert Purchase.objects.count() == 1


def test_start_over_clears_the_chat_and_the_test_purchases_only(admin_client, product, purchase):
    buy_through_the_page(admin_client, product)
    assert Purchase.objects.count() == 2

    answer = post(admin_client, "start-over", {})

    assert answer["messages"] == []
    assert list(Purchase.objects.all()) == [purchase]  # a real customer's stays
    assert list(User.objects.all()) == [purchase.user]


def test_each_staff_member_has_their_own_chat(admin_client, product):
    post(admin_client, "send", {"text": "/start"})
    other = staff_client("other", "view_product")
    assert other.get("/admin/try-the-bot/messages/").json()["messages"] == []


def test_bad_requests_are_refused(admin_client):
    for name, body in [("send", {"text": 5}), ("press", {"message_id": "1", "data": "x"}), ("pay", {"message_id": True})]:
        response = admin_client.post(f"/admin/try-the-bot/{name}/", json.dumps(body), content_type="application/json")
        assert response.status_code == 400
    assert admin_client.get("/admin/try-the-bot/send/").status_code == 405
