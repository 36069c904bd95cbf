"""The admin in a real browser (Playwright driving Debian's Chromium): with `runbot` running
against the fake Bot API, staff create a product and broadcast and a customer sees and receives
them; and what staff see on their screen: warnings only when true, lists that fit a laptop.

Needs /usr/bin/chromium (`.ci/run` installs it with apt-get). Screenshots of failures go to
test-artifacts/.
"""

import datetime
import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from backoffice.testing import needs_chromium
from botapp.testing import updates
from botapp.testing.helpers import button_data, buttons
from shop.models import Broadcast, Product, Purchase, User
from shop.testing.factories import CategoryFactory, ProductFactory, PurchaseFactory, UserFactory, broadcast_started

pytestmark = needs_chromium


@pytest.fixture
def staff(transactional_db):
    return get_user_model().objects.create_superuser("staff", "", "a-long-staff-password")


def log_in(page, live_server):
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "staff")
    page.fill("#id_password", "a-long-staff-password")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")


def test_staff_create_a_product_and_broadcast_while_a_customer_shops(
    browser_page, live_server, staff, api, runbot, tmp_path, settings
):
    page = browser_page
    settings.MEDIA_ROOT = tmp_path / "media"
    bot = runbot(env={"MEDIA_ROOT": str(tmp_path / "media")})
    api.wait_for("getUpdates", timeout=30)
    ann = updates.tg_user(42, first_name="Ann", username="ann")
    api.push(updates.message(ann, "/start"))
    api.wait_for("sendMessage", lambda c: c.params["chat_id"] == "42")
    assert User.objects.filter(telegram_id=42).exists()

    # Staff log in and see the dashboard with its chart
    log_in(page, live_server)
    assert page.locator("svg").count() >= 1
    assert page.get_by_text("Customers", exact=False).first.is_visible()

    # A category, then a product with a file
    page.goto(f"{live_server.url}/admin/shop/category/add/")
    page.fill("#id_category_name", "Guides")
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist .success")

    manual = tmp_path / "manual.pdf"
    manual.write_bytes(b"%PDF-1.4 the manual")
    page.goto(f"{live_server.url}/admin/shop/product/add/")
    page.fill("#id_name", "Shop manual")
    page.select_option("#id_category", label="Guides")
    page.fill("#id_price", "15")
    page.fill("#id_description", "Everything about <b>the shop</b>.")
    page.fill("#id_hidden_content", "Thanks for reading!")
    page.set_input_files("#id_file", str(manual))
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist .success")
    product = Product.objects.get(name="Shop manual")
    assert product.file.name.endswith(".pdf")

    # The customer sees it in the bot at once
    mark = api.mark()
    api.push(updates.message(ann, "/catalog"))
    catalog = api.wait_for("sendMessage", after=mark)
    assert "Guides (1)" in [text for text, _ in buttons(catalog)]
    mark = api.mark()
    api.push(updates.callback(ann, button_data(catalog, "Guides")))
    category = api.wait_for("editMessageText", after=mark)
    assert any(text.startswith("Shop manual") for text, _ in buttons(category))

    # A broadcast to all customers: preview, send, progress bar to the end
    page.goto(f"{live_server.url}/admin/shop/broadcast/add/")
    page.fill("#id_text", "New in the shop: <b>Shop manual</b>!")
    page.select_option("#id_audience", "all")
    page.click("input[name=_save]")
    page.wait_for_selector("text=Send now")
    assert page.locator("b", has_text="Shop manual").first.is_visible()  # the preview
    confirmations = []
    page.once("dialog", lambda dialog: (confirmations.append(dialog.message), dialog.accept()))
    page.click("text=Send now")
    page.locator("#broadcast-progress progress").wait_for()
    assert "1 customers" in confirmations[0] or "1 customer" in confirmations[0]
    page.wait_for_function(
        "() => { const b = document.querySelector('#broadcast-progress progress');"
        " return b && Number(b.max) > 0 && Number(b.value) === Number(b.max); }",
        timeout=30_000,
    )
    sent = api.wait_for("sendMessage", lambda c: "New in the shop" in c.params["text"])
    assert sent.params["chat_id"] == "42"
    page.wait_for_selector("text=Report", timeout=15_000)
    assert re.search(r"100\s*%", page.inner_text("#broadcast-progress"))
    assert Broadcast.objects.get().status == Broadcast.Status.DONE
    assert len([c for c in api.calls_of("sendMessage") if "New in the shop" in c.params["text"]]) == 1

    assert not Purchase.objects.exists()
    assert bot.stop()[0] == 0


def test_the_broadcast_page_warns_of_a_stalled_sender_only_when_nothing_was_sent_for_a_minute(browser_page, live_server, staff):
    page = browser_page
    long_ago = timezone.now() - datetime.timedelta(minutes=10)
    finished = broadcast_started(2)
    finished.recipients.update(status="sent", claimed_at=long_ago, sent_at=long_ago)
    Broadcast.objects.filter(pk=finished.pk).update(status="done", started_at=long_ago, finished_at=long_ago)
    stalled = broadcast_started(2)  # no bot running: nobody has claimed a recipient for ten minutes
    Broadcast.objects.filter(pk=stalled.pk).update(started_at=long_ago)
    just_started = broadcast_started(2)
    log_in(page, live_server)

    def warning_shown(broadcast: Broadcast) -> bool:
        page.goto(live_server.url + reverse("admin:shop_broadcast_change", args=[broadcast.pk]))
        page.locator("#broadcast-progress").wait_for()
        return page.locator("#broadcast-stalled").is_visible()

    assert not warning_shown(finished)
    assert warning_shown(stalled)
    assert not warning_shown(just_started)  # 0 s after the start
    with page.expect_response(lambda response: "/status/" in response.url):
        pass  # the page's own refresh, which shows or hides the warning again
    page.wait_for_timeout(100)
    assert not page.locator("#broadcast-stalled").is_visible()
    assert page.locator("#broadcast-waiting").is_visible()  # behind the stalled one: said so, calmly


LAPTOP = {"width": 1366, "height": 768}


def a_shop_with_long_names() -> CategoryFactory:
    category = CategoryFactory(category_name="Software licences")
    for i in range(3):
        buyer = UserFactory(
            username=f"a_rather_long_telegram_username_{i}", first_name="Alexandra", last_name="Konstantinopolskaya"
        )
        product = ProductFactory(
            category=category,
            name=f"Professional photo editor licence, lifetime edition {i}",
            price=1500,
            hidden_content="KEY-" + "X" * 300,
        )
        PurchaseFactory(user=buyer, product=product, payment_id=f"stars-{i}-" + "x" * 60)
        PurchaseFactory(user=buyer, product=product, in_roubles=True, refunded=True, review_reason="paid twice")
    return category


CLIPPED_COLUMNS = """() => {
    const table = document.querySelector("#result_list");
    const box = table.parentElement.getBoundingClientRect();
    const clipped = [...table.querySelectorAll("thead th")]
        .filter(th => th.getBoundingClientRect().right > box.right + 1)
        .map(th => th.innerText.trim());
    return {clipped, tableWidth: table.scrollWidth, room: table.parentElement.clientWidth};
}"""


@pytest.mark.parametrize("language", ["en", "ru"])
def test_on_a_1366_px_screen_no_column_of_the_purchases_or_customers_list_is_cut_off(browser_page, live_server, staff, language):
    page = browser_page
    page.set_viewport_size(LAPTOP)
    page.set_extra_http_headers({"Accept-Language": language})
    a_shop_with_long_names()
    log_in(page, live_server)

    for changelist in ("admin:shop_purchase_changelist", "admin:shop_user_changelist"):
        page.goto(live_server.url + reverse(changelist))
        seen = page.evaluate(CLIPPED_COLUMNS)

        assert seen["clipped"] == [], f"{changelist}: {seen}"
        assert seen["tableWidth"] <= seen["room"], f"{changelist}: {seen}"
        assert page.evaluate("() => document.documentElement.scrollWidth") <= LAPTOP["width"]


def test_on_a_1366_px_screen_the_category_page_does_not_stretch_past_the_screen(browser_page, live_server, staff):
    page = browser_page
    page.set_viewport_size(LAPTOP)
    category = a_shop_with_long_names()
    log_in(page, live_server)

    page.goto(live_server.url + reverse("admin:shop_category_change", args=[category.pk]))

    assert page.evaluate("() => document.documentElement.scrollWidth") <= LAPTOP["width"]
    products = page.locator(".inline-group table")
    assert products.evaluate("table => table.scrollWidth <= table.parentElement.clientWidth")
    assert page.locator(".inline-group td.field-name input").first.is_visible()
