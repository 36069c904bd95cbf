"""Try the bot in a real browser (Playwright driving Debian's Chromium): a staff member opens the page
and shops as a customer would: /start, catalog, product, Pay (test), the content, My purchases.

Needs /usr/bin/chromium (`.ci/run` installs it with apt-get). Screenshots of failures go to
test-artifacts/.
"""

from django.contrib.auth import get_user_model

from backoffice.testing import needs_chromium
from shop.models import Purchase
from shop.testing.factories import CategoryFactory, ProductFactory

pytestmark = needs_chromium


def test_staff_shop_in_the_bot_without_telegram(browser_page, live_server, transactional_db):
    get_user_model().objects.create_superuser("owner", "", "a-long-owner-password")
    ProductFactory(
        category=CategoryFactory(category_name="Guides"),
        name="Shop manual",
        description="Everything about <b>the shop</b>.",
        price=15,
        hidden_content="Thanks for reading! <code>CODE-777</code>",
    )
    page = browser_page
    page.set_viewport_size({"width": 1366, "height": 900})  # a laptop
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", "owner")
    page.fill("#id_password", "a-long-owner-password")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")

    page.click("text=Chat with the bot as a test customer")
    page.wait_for_selector("#trybot")
    chat = page.locator(".trybot-chat")

    page.fill(".trybot-input input[name=text]", "/start")
    page.press(".trybot-input input[name=text]", "Enter")
    chat.locator(".from-bot").get_by_text("What would you like to do?").wait_for()

    chat.locator(".trybot-button", has_text="Catalog").last.click()
    chat.locator(".from-bot b", has_text="Catalog").wait_for()
    assert chat.locator(".from-bot").count() == 1  # the menu became the catalog: one message, edited in place
    chat.locator(".trybot-button", has_text="Guides").click()
    chat.locator(".trybot-button", has_text="Shop manual").click()
    chat.locator(".from-bot b", has_text="the shop").wait_for()  # the card, with its formatting
    chat.locator(".trybot-button", has_text="Buy").click()
    chat.locator(".trybot-invoice").wait_for()
    assert "⭐ 15" in chat.locator(".trybot-invoice").inner_text()

    chat.locator(".trybot-pay").click()
    chat.locator(".from-bot code", has_text="CODE-777").wait_for()  # the content, delivered
    assert chat.locator(".trybot-pay").is_disabled()
    purchase = Purchase.objects.get()
    assert purchase.payment_type == Purchase.PaymentType.TEST
    assert "edited" in chat.locator(".from-bot").first.inner_text()  # the card, edited in place from the menu

    # The card's Buy again: the bot's answer to the press shows as a notice, and the content comes again
    chat.locator(".trybot-button", has_text="Buy").last.click()
    toast = page.locator(".trybot-toast")
    toast.wait_for(state="visible")
    assert toast.inner_text() == "You already own this product."
    page.wait_for_function("document.querySelectorAll('.trybot-chat code').length === 2")

    chat.locator(".trybot-button", has_text="My purchases").last.click()
    chat.get_by_text("You have 1 purchase").wait_for()
    chat.locator(".trybot-button", has_text="Shop manual").last.click()
    chat.locator(".trybot-button", has_text="Open").last.click()
    chat.locator(".trybot-message").last.locator("code", has_text="CODE-777").wait_for()  # Open sends it again

    # Start over: the chat and the test purchase are gone
    page.once("dialog", lambda dialog: dialog.accept())
    page.click(".trybot-start-over")
    page.wait_for_function("document.querySelectorAll('.trybot-message').length === 0")
    assert not Purchase.objects.exists()
