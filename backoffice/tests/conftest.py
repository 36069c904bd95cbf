"""People and data the back office's tests share: Ann, who bought the product (the root conftest's
Editor Pro); Bob; staff who may only look; the admin in Russian."""

import pytest
from django.db import connections
from django.utils import translation

from backoffice.testing import ARTIFACTS, CHROMIUM, staff_client
from shop.testing.factories import PurchaseFactory, UserFactory


@pytest.fixture
def buyer(db):
    return UserFactory(telegram_id=42, username="ann", first_name="Ann", last_name="Lee", language_code="en")


@pytest.fixture
def bob(db):
    return UserFactory(telegram_id=1042, username="bob")


@pytest.fixture
def purchase(buyer, product):
    return PurchaseFactory(user=buyer, product=product, payment_id="stars-charge-abc")


@pytest.fixture
def viewer_client(db):
    """A staff member who may look at purchases and customers, not act on them."""
    return staff_client("viewer", "view_purchase", "view_user")


@pytest.fixture
def russian(admin_client):
    yield admin_client
    translation.activate("en")  # LocaleMiddleware leaves the last request's language active


@pytest.fixture
def browser_page(request, monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop on this thread; the test's ORM calls are still sync.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(20_000)
        try:
            yield page
            report = getattr(request.node, "rep_call", None)
            if report is not None and report.failed:
                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
            browser.close()
        finally:
            # Playwright's sync API runs an event loop on this thread, so Django gave the test's ORM calls
            # connections of their own inside this block: closed here, or PostgreSQL keeps them open and
            # refuses to drop the test database at the end of the session.
            connections.close_all()
