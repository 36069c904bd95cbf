"""The broadcast pages staff use: write, preview, send, watch, cancel; the customer list's action."""

import datetime

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from backoffice.admin.broadcasts import SELECTION_SESSION_KEY
from backoffice.admin.customers import CustomerAdmin
from botapp.tasks import schedule_broadcast_sending
from shop.models import Broadcast, User
from shop.services.broadcasts import broadcast_create
from shop.testing.factories import UserFactory, broadcast_started

pytestmark = pytest.mark.django_db

SENDING_TASK = "botapp.tasks.send_broadcasts_task"


def broadcast_url(name: str, broadcast: Broadcast) -> str:
    return reverse(f"admin:shop_broadcast_{name}", args=[broadcast.pk])


def test_staff_write_a_draft_and_see_its_preview(admin_client, admin_user):
    UserFactory()
    UserFactory(is_blocked=True)
    response = admin_client.post(
        reverse("admin:shop_broadcast_add"),
        {"text": "<b>New</b> arrivals <script>x</script>", "audience": "all"},
    )
    assert response.status_code == 200 and b"not supported by Telegram" in response.content
    assert not Broadcast.objects.exists()

    response = admin_client.post(reverse("admin:shop_broadcast_add"), {"text": "<b>New</b> arrivals &lt;3", "audience": "all"})
    broadcast = Broadcast.objects.get()
    assert response.status_code == 302 and response.url == broadcast_url("change", broadcast)
    assert (broadcast.status, broadcast.created_by) == ("draft", admin_user)

    page = admin_client.get(response.url).content.decode()
    assert '<div class="broadcast-preview"><b>New</b> arrivals &lt;3</div>' in page
    assert "1 of 2 customers will receive it (1 blocked the bot)" in page
    assert broadcast_url("start", broadcast) in page


def test_the_preview_shows_only_what_telegram_shows(admin_client):
    broadcast = broadcast_create(text='<a href="javascript:alert(1)">click</a> <i>&lt;script&gt;</i>')
    page = admin_client.get(broadcast_url("change", broadcast)).content.decode()
    preview = page.split('<div class="broadcast-preview">')[1].split("</div>")[0]
    assert preview == "click <i>&lt;script&gt;</i>"


def test_staff_send_watch_and_cancel(admin_client):
    for _ in range(3):
        UserFactory()
    broadcast = broadcast_create(text="Hello <i>all</i>")

    assert admin_client.get(broadcast_url("start", broadcast)).status_code == 403  # POST only
    response = admin_client.post(broadcast_url("start", broadcast))
    assert response.status_code == 302 and response.url == broadcast_url("change", broadcast)
    broadcast.refresh_from_db()
    assert broadcast.status == Broadcast.Status.SENDING and broadcast.recipients.count() == 3
    assert DBTaskResult.objects.filter(task_path=SENDING_TASK).count() == 1  # the bot's worker sends it

    page = admin_client.get(response.url).content.decode()
    assert "Sending to 3 customers" in page
    assert "<progress" in page and broadcast_url("status", broadcast) in page and "setTimeout(refresh" in page
    assert broadcast_url("cancel", broadcast) in page

    status = admin_client.get(broadcast_url("status", broadcast)).json()
    assert {k: status[k] for k in ("status", "total", "sent", "remaining", "percent", "finished")} == {
        "status": "sending",
        "total": 3,
        "sent": 0,
        "remaining": 3,
        "percent": 0,
        "finished": False,
    }

    # a sent broadcast is no longer editable
    admin_client.post(broadcast_url("change", broadcast), {"text": "changed", "audience": "all"})
    broadcast.refresh_from_db()
    assert broadcast.text == "Hello <i>all</i>"

    response = admin_client.post(broadcast_url("cancel", broadcast))
    assert response.status_code == 302
    broadcast.refresh_from_db()
    assert broadcast.status == Broadcast.Status.CANCELLED
    page = admin_client.get(broadcast_url("change", broadcast)).content.decode()
    assert "Report" in page and "setTimeout(refresh" not in page and broadcast_url("cancel", broadcast) not in page
    assert admin_client.get(broadcast_url("status", broadcast)).json()["cancelled"] == 3


def test_the_status_view_is_cheap(admin_client):
    broadcast = broadcast_started(30)
    url = broadcast_url("status", broadcast)
    admin_client.get(url)
    with CaptureQueriesContext(connection) as queries:
        assert admin_client.get(url).status_code == 200
    progress_queries = [q for q in queries.captured_queries if "shop_broadcast" in q["sql"]]
    assert len(progress_queries) == 1


def test_a_stalled_broadcast_is_queued_again_once(admin_client):
    broadcast = broadcast_started(2)
    Broadcast.objects.filter(pk=broadcast.pk).update(started_at=timezone.now() - datetime.timedelta(minutes=5))
    for _ in range(3):
        assert admin_client.get(broadcast_url("status", broadcast)).json()["stalled"] is True
    assert DBTaskResult.objects.filter(task_path=SENDING_TASK).count() == 1

    # a run waiting out Telegram's flood control is left to it
    DBTaskResult.objects.all().delete()
    schedule_broadcast_sending(datetime.timedelta(minutes=2))
    admin_client.get(broadcast_url("status", broadcast))
    assert DBTaskResult.objects.filter(task_path=SENDING_TASK).count() == 1


def test_staff_without_the_permission_cannot_send(client, django_user_model):
    staff = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_broadcast"))
    client.force_login(staff)
    UserFactory()
    broadcast = broadcast_create(text="Hi")

    assert client.get(broadcast_url("change", broadcast)).status_code == 200
    assert client.post(broadcast_url("start", broadcast)).status_code == 403
    assert Broadcast.objects.get().status == Broadcast.Status.DRAFT


def test_the_list_shows_progress_in_constant_queries(admin_client):
    for _ in range(3):
        broadcast_started(2)
    broadcast_create(text="draft")
    url = reverse("admin:shop_broadcast_changelist")
    admin_client.get(url)
    with CaptureQueriesContext(connection) as few:
        page = admin_client.get(url).content.decode()
    broadcast_started(2)
    with CaptureQueriesContext(connection) as more:
        admin_client.get(url)
    assert len(few) == len(more)
    assert all(f"0 / {n}" in page for n in (2, 4, 6))  # everyone so far: 2, 4 and 6 customers


def customer_admin_with_action():
    return CustomerAdmin(User, admin.site)


def test_message_selected_customers_opens_a_broadcast_to_them(admin_client, admin_user):
    chosen = [UserFactory(), UserFactory()]
    UserFactory()
    request = RequestFactory().post("/")
    request.user = admin_user
    request.session = admin_client.session
    model_admin = customer_admin_with_action()
    assert "message_selected_customers" in model_admin.get_actions(request)

    response = model_admin.message_selected_customers(request, User.objects.filter(pk__in=[u.pk for u in chosen]))
    assert response.url == reverse("admin:shop_broadcast_add") + "?from_selection=1"
    request.session.save()

    form = admin_client.get(response.url).context["adminform"].form
    assert form.initial["audience"] == "selected"
    assert sorted(form.initial["selected_users"]) == sorted(u.pk for u in chosen)
    admin_client.post(response.url, {"text": "Just for you", "audience": "selected", "selected_users": [u.pk for u in chosen]})
    broadcast = Broadcast.objects.get()
    assert set(broadcast.selected_users.all()) == set(chosen)
    assert SELECTION_SESSION_KEY not in admin_client.session


def test_the_action_needs_the_permission_to_add_broadcasts(django_user_model):
    staff = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_user", content_type__app_label="shop"))
    request = RequestFactory().get("/")
    request.user = staff
    assert "message_selected_customers" not in customer_admin_with_action().get_actions(request)


def test_the_customer_list_offers_the_action(admin_client):
    """Needs CustomerAdmin to use BroadcastActionMixin."""
    ann = UserFactory()
    response = admin_client.post(
        reverse("admin:shop_user_changelist"), {"action": "message_selected_customers", "_selected_action": [ann.pk]}
    )
    assert response.status_code == 302 and response.url.endswith("?from_selection=1")
    assert admin_client.session[SELECTION_SESSION_KEY] == [ann.pk]
