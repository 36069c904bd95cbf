"""What a customer sees: commands and buttons, fed through the bot to the fake Bot API."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from botapp import callbacks, screens
from botapp.testing import updates
from botapp.testing.helpers import button_data, buttons, only_screen
from shop.models import BotText, Product, User
from shop.selectors.catalog import catalog_version
from shop.services.catalog import catalog_changed, product_set_on_sale
from shop.testing.factories import CategoryFactory, ProductFactory, PurchaseFactory, UserFactory

pytestmark = pytest.mark.django_db


NO_LONGER_AVAILABLE = "Sorry, this is no longer available."
NOT_UNDERSTOOD = "Sorry, I did not understand that."
MAIN_MENU = [
    ("🛍 Catalog", "cats:1"),
    ("🔍 Search", "search"),
    ("📦 My purchases", "my:1"),
    ("👥 Invite friends", "invite"),
    ("❔ Help", "help"),
]


@pytest.fixture(autouse=True)
def stars(settings):
    settings.SHOP_CURRENCY = "XTR"


# --- /start ---


def test_start_registers_the_customer_with_their_telegram_profile(command):
    ann = updates.tg_user(42, first_name="Ann", last_name="Lee", username="ann", language_code="en")

    command("/start", user=ann)

    user = User.objects.get(telegram_id=42)
    assert (user.first_name, user.last_name, user.username, user.language_code) == ("Ann", "Lee", "ann", "en")
    assert user.is_blocked is False


def test_second_start_brings_a_changed_username_up_to_date(command):
    command("/start", user=updates.tg_user(42, username="ann"))
    command("/start", user=updates.tg_user(42, username="ann_new", first_name="Anna"))

    user = User.objects.get(telegram_id=42)
    assert (user.username, user.first_name) == ("ann_new", "Anna")
    assert User.objects.count() == 1


def test_start_greets_and_shows_the_main_menu(command):
    sent = command("/start")

    assert "Hello, Ann!" in sent.params["text"]
    assert sent.params["parse_mode"] == "HTML"
    assert buttons(sent) == MAIN_MENU


def test_start_escapes_html_in_the_first_name(command):
    sent = command("/start", user=updates.tg_user(42, first_name="<b>Bob</b> & Co"))

    assert "Hello, &lt;b&gt;Bob&lt;/b&gt; &amp; Co!" in sent.params["text"]
    assert "<b>Bob</b>" not in sent.params["text"]
    assert sent.params["parse_mode"] == "HTML"


def test_start_deep_link_opens_the_product_card(command, product):
    sent = command(f"/start p{product.id}")

    text = sent.params["text"]
    assert "<b>Editor Pro</b>" in text
    assert "A <b>great</b> editor." in text
    assert "⭐ 50" in text
    assert buttons(sent) == [("Buy for ⭐ 50", callbacks.buy(product.pk)), ("« Back", callbacks.catalog())]
    assert User.objects.filter(telegram_id=42).exists()


def test_start_deep_link_to_an_off_sale_product_says_so_and_shows_the_catalog(command, product):
    ProductFactory(category=product.category, name="Still on sale")
    product.is_active = False
    product.save()

    sent = command(f"/start p{product.id}")

    assert sent.params["text"].startswith(NO_LONGER_AVAILABLE)
    assert "Editor Pro" not in sent.params["text"]
    assert ("Keys (1)", callbacks.category(product.category_id)) in buttons(sent)


@pytest.mark.parametrize("payload", ["pgarbage", "p0", "p99999999999999999999", "p-1", "p", "x12", "p1 p2"])
def test_start_with_an_unusable_payload_shows_the_main_menu(command, product, payload):
    sent = command(f"/start {payload}")

    assert "Hello, Ann!" in sent.params["text"]
    assert buttons(sent) == MAIN_MENU


# --- catalog ---


def test_catalog_lists_only_categories_with_products_on_sale_with_their_counts(command, category):
    ProductFactory(category=category, name="A")
    ProductFactory(category=category, name="B")
    ProductFactory(category=category, name="Hidden", is_active=False)
    off_sale_only = CategoryFactory(category_name="Books")
    ProductFactory(category=off_sale_only, name="Old book", is_active=False)
    CategoryFactory(category_name="Empty")

    sent = command("/catalog")

    assert "Catalog" in sent.params["text"]
    assert buttons(sent) == [("Keys (2)", callbacks.category(category.id)), ("« Menu", callbacks.menu())]


def test_empty_catalog_says_so(command, category):
    ProductFactory(category=category, name="Off", is_active=False)

    sent = command("/catalog")

    assert "The catalog is empty for now" in sent.params["text"]
    assert buttons(sent) == [("« Menu", callbacks.menu())]


def test_catalog_button_edits_the_menu_message_in_place(command, press_for_screen, fake_api, product):
    press_result = press_for_screen(callbacks.catalog(), message_id=555)

    assert "Catalog" in press_result.params["text"]
    assert press_result.params["parse_mode"] == "HTML"
    assert ("Keys (1)", callbacks.category(product.category_id)) in buttons(press_result)
    assert fake_api.calls_of("sendMessage") == []


def test_catalog_is_paginated(press_for_screen, db):
    for n in range(screens.PAGE_SIZE + 1):
        ProductFactory(category=CategoryFactory(category_name=f"Cat {n:02d}"), name=f"P{n}")

    first = press_for_screen(callbacks.catalog(1))
    second = press_for_screen(button_data(first, "Next"))

    first_items = [text for text, data in buttons(first) if data.startswith("cat:")]
    second_items = [text for text, data in buttons(second) if data.startswith("cat:")]
    assert len(first_items) == screens.PAGE_SIZE
    assert second_items == [f"Cat {screens.PAGE_SIZE:02d} (1)"]
    assert not set(first_items) & set(second_items)
    assert button_data(first, "Next") == callbacks.catalog(2)
    assert not [t for t, _ in buttons(first) if "Previous" in t]
    assert button_data(second, "Previous") == callbacks.catalog(1)
    assert not [t for t, _ in buttons(second) if "Next" in t]
    assert "Page 2 of 2" in second.params["text"]


# --- category ---


def test_catalog_page_that_no_longer_exists_shows_the_last_page(press_for_screen, product):
    screen = press_for_screen(callbacks.catalog(5))

    assert ("Keys (1)", callbacks.category(product.category_id)) in buttons(screen)


def test_category_lists_its_products_on_sale_only(press_for_screen, category):
    a = ProductFactory(category=category, name="Alpha", price=5)
    ProductFactory(category=category, name="Off sale", is_active=False)
    ProductFactory(category=CategoryFactory(category_name="Other"), name="Elsewhere")

    screen = press_for_screen(callbacks.category(category.id))

    assert "<b>Keys</b>" in screen.params["text"]
    assert buttons(screen) == [
        ("Alpha · ⭐ 5", callbacks.product(a.id, callbacks.Back("category", category.id, 1))),
        ("« Back", callbacks.catalog()),
    ]


def test_category_back_button_returns_to_the_catalog(press_for_screen, product):
    screen = press_for_screen(callbacks.category(product.category_id))
    catalog = press_for_screen(button_data(screen, "Back"))

    assert "Catalog" in catalog.params["text"]
    assert ("Keys (1)", callbacks.category(product.category_id)) in buttons(catalog)


def test_category_pages_and_the_product_back_button_returns_to_the_same_page(press_for_screen, category):
    for n in range(screens.PAGE_SIZE + 2):
        ProductFactory(category=category, name=f"Item {n:02d}")

    first = press_for_screen(callbacks.category(category.id))
    second = press_for_screen(button_data(first, "Next"))

    first_items = [text for text, data in buttons(first) if data.startswith("prod:")]
    second_items = [text for text, data in buttons(second) if data.startswith("prod:")]
    assert len(first_items) == screens.PAGE_SIZE
    assert second_items == ["Item 08 · ⭐ 10", "Item 09 · ⭐ 10"]
    assert button_data(first, "Next") == callbacks.category(category.id, 2)
    assert button_data(second, "Previous") == callbacks.category(category.id, 1)
    assert "Page 2 of 2" in second.params["text"]

    item = Product.objects.get(name="Item 09")
    product_data = button_data(second, "Item 09")
    assert product_data == callbacks.product(item.id, callbacks.Back("category", category.id, 2))

    card = press_for_screen(product_data)
    assert "<b>Item 09</b>" in card.params["text"]
    back = press_for_screen(button_data(card, "Back"))
    assert back.params["text"] == second.params["text"]
    assert buttons(back) == buttons(second)


def test_category_taken_off_sale_meanwhile_sends_the_customer_to_the_catalog(press_for_screen, fake_api, product):
    product.is_active = False
    product.save()

    screen = press_for_screen(callbacks.category(product.category_id))

    assert fake_api.calls_of("answerCallbackQuery")[0].params["text"] == NO_LONGER_AVAILABLE
    assert screen.params["text"].startswith(NO_LONGER_AVAILABLE)


# --- screens the same for everyone: cached until the catalog changes ---


def screen_queries(press_for_screen, data: str) -> tuple[object, int]:
    with CaptureQueriesContext(connection) as queries:
        screen = press_for_screen(data)
    return screen, len(queries)


@pytest.mark.parametrize("data", [callbacks.catalog(), "category"])
def test_catalog_and_category_screens_are_served_from_the_cache_in_one_query_at_any_size(press_for_screen, category, data):
    data = callbacks.category(category.id) if data == "category" else data
    ProductFactory.create_batch(3, category=category)
    first, _queries = screen_queries(press_for_screen, data)
    again, few = screen_queries(press_for_screen, data)
    assert again.params["text"] == first.params["text"] and buttons(again) == buttons(first)
    Product.objects.bulk_create(Product(category=category, name=f"Bulk {n:03d}", price=1, hidden_content="x") for n in range(200))
    catalog_changed()  # as every write to the catalog does (bulk writes call it themselves)
    screen_queries(press_for_screen, data)
    _screen, many = screen_queries(press_for_screen, data)
    assert many == few <= 2  # the catalog's version (and the customer's own record, if it changed)


@pytest.mark.parametrize(
    "change",
    [
        lambda product: Product.objects.filter(pk=product.pk).get().delete(),
        lambda product: product_set_on_sale(products=Product.objects.filter(pk=product.pk), on_sale=False),
        lambda product: ProductFactory(category=product.category, name="Newcomer"),
        lambda product: Product.objects.get(pk=product.pk).save(),
    ],
    ids=["deleted", "taken off sale", "added", "saved"],
)
def test_any_change_to_the_catalog_shows_at_once(press_for_screen, category, change):
    product = ProductFactory(category=category, name="Original")
    ProductFactory(category=category, name="Other")
    before = press_for_screen(callbacks.category(category.id))  # cached as it is now
    assert {text.split(" · ")[0] for text, _data in buttons(before)} - {"« Back"} == {"Original", "Other"}
    version = catalog_version()
    change(product)
    assert catalog_version() > version
    after = press_for_screen(callbacks.category(category.id))
    names = [text.split(" · ")[0] for text, _data in buttons(after)]
    expected = set(Product.objects.filter(category=category, is_active=True).values_list("name", flat=True))
    assert set(names) - {"« Back"} == expected


def test_a_renamed_category_shows_its_new_name_in_the_catalog(press_for_screen, product):
    press_for_screen(callbacks.catalog())
    product.category.category_name = "Renamed"
    product.category.save()
    assert buttons(press_for_screen(callbacks.catalog()))[0][0].startswith("Renamed")


# --- product card ---


def test_product_card_escapes_the_name_keeps_the_description_html_and_formats_the_price(press_for_screen, category):
    item = ProductFactory(category=category, name="<Pro> & Co", price=1500, description="Line one\n<i>fast</i> & <b>safe</b>")

    card = press_for_screen(callbacks.product(item.id))

    text = card.params["text"]
    assert "<b>&lt;Pro&gt; &amp; Co</b>" in text
    assert "<i>fast</i> & <b>safe</b>" in text
    assert "Price: ⭐ 1500" in text
    assert "You own" not in text
    assert buttons(card) == [("Buy for ⭐ 1500", callbacks.buy(item.id)), ("« Back", callbacks.catalog())]


def test_product_card_tells_an_owner_they_own_it(press_for_screen, product):
    PurchaseFactory(user=UserFactory(telegram_id=42), product=product)

    card = press_for_screen(callbacks.product(product.id))

    assert "✅ You own this product." in card.params["text"]


def test_someone_elses_purchase_does_not_make_the_product_owned(press_for_screen, product):
    PurchaseFactory(user=UserFactory(telegram_id=43, first_name="Bob"), product=product)

    card = press_for_screen(callbacks.product(product.id))

    assert "You own" not in card.params["text"]


def test_off_sale_product_not_owned_answers_no_longer_available_and_shows_the_catalog(press_for_screen, fake_api, product):
    ProductFactory(category=product.category, name="Another")
    product.is_active = False
    product.save()

    screen = press_for_screen(callbacks.product(product.id))

    assert fake_api.calls_of("answerCallbackQuery")[0].params["text"] == NO_LONGER_AVAILABLE
    assert screen.params["text"].startswith(NO_LONGER_AVAILABLE)
    assert "Editor Pro" not in screen.params["text"]
    assert ("Keys (1)", callbacks.category(product.category_id)) in buttons(screen)


def test_off_sale_product_stays_open_to_its_owner(press_for_screen, fake_api, product):
    PurchaseFactory(user=UserFactory(telegram_id=42), product=product)
    product.is_active = False
    product.save()

    card = press_for_screen(callbacks.product(product.id))

    assert "<b>Editor Pro</b>" in card.params["text"]
    assert "✅ You own this product." in card.params["text"]
    assert "text" not in fake_api.calls_of("answerCallbackQuery")[0].params


# --- my purchases ---


def test_no_purchases_gets_a_friendly_empty_state(command, press_for_screen):
    sent = command("/purchases")
    pressed = press_for_screen(callbacks.purchases())

    for screen in (sent, pressed):
        assert "You have not bought anything yet" in screen.params["text"]
        assert buttons(screen) == [("🛍 Catalog", callbacks.catalog()), ("« Menu", callbacks.menu())]


def test_purchases_are_listed_newest_first(command, category):
    ann, now = UserFactory(telegram_id=42), timezone.now()
    PurchaseFactory(user=ann, product=ProductFactory(category=category, name="Oldest"), created_at=now - timedelta(days=3))
    PurchaseFactory(user=ann, product=ProductFactory(category=category, name="Newest"), created_at=now - timedelta(days=1))
    PurchaseFactory(user=ann, product=ProductFactory(category=category, name="Middle"), created_at=now - timedelta(days=2))

    sent = command("/purchases")

    names = [text.split(" · ")[0] for text, data in buttons(sent) if data.startswith("prod:")]
    assert names == ["Newest", "Middle", "Oldest"]
    assert "You have 3 purchases" in sent.params["text"]


@pytest.mark.parametrize(
    ("language", "time_zone", "bought_at", "shown"),
    [
        ("en", "UTC", datetime(2026, 12, 2, 9, 30, tzinfo=UTC), "2 Dec 2026"),
        ("ru", "UTC", datetime(2026, 12, 2, 9, 30, tzinfo=UTC), "2 дек 2026"),
        ("ru", "UTC", datetime(2026, 5, 9, 9, 30, tzinfo=UTC), "9 мая 2026"),
        ("en", "Europe/Moscow", datetime(2026, 12, 1, 22, 30, tzinfo=UTC), "2 Dec 2026"),  # already the 2nd in Moscow
    ],
)
def test_purchase_dates_are_day_first_in_the_customers_language_and_the_shops_time_zone(
    settings, command, category, language, time_zone, bought_at, shown
):
    settings.TIME_ZONE = time_zone
    ann = UserFactory(telegram_id=42)
    PurchaseFactory(user=ann, product=ProductFactory(category=category, name="Guide"), created_at=bought_at)

    sent = command("/purchases", user=updates.tg_user(42, language_code=language))

    assert f"Guide · {shown}" in [text for text, _ in buttons(sent)]


def test_purchases_are_paginated_and_back_from_a_purchase_returns_to_the_same_page(press_for_screen, category):
    ann, now = UserFactory(telegram_id=42), timezone.now()
    for n in range(screens.PAGE_SIZE + 2):
        bought = ProductFactory(category=category, name=f"Bought {n:02d}")
        PurchaseFactory(user=ann, product=bought, created_at=now - timedelta(days=n))

    first = press_for_screen(callbacks.purchases())
    second = press_for_screen(button_data(first, "Next"))

    first_names = [text.split(" · ")[0] for text, data in buttons(first) if data.startswith("prod:")]
    second_names = [text.split(" · ")[0] for text, data in buttons(second) if data.startswith("prod:")]
    assert first_names == [f"Bought {n:02d}" for n in range(screens.PAGE_SIZE)]
    assert second_names == ["Bought 08", "Bought 09"]
    assert button_data(first, "Next") == callbacks.purchases(2)
    assert button_data(second, "Previous") == callbacks.purchases(1)
    assert "You have 10 purchases" in second.params["text"]
    assert "Page 2 of 2" in second.params["text"]

    card = press_for_screen(button_data(second, "Bought 09"))
    assert "<b>Bought 09</b>" in card.params["text"]
    assert "✅ You own this product." in card.params["text"]
    assert button_data(card, "Back") == callbacks.purchases(2)

    back = press_for_screen(button_data(card, "Back"))
    assert back.params["text"] == second.params["text"]
    assert buttons(back) == buttons(second)


def test_purchases_of_another_customer_are_never_shown(command, press_for_screen, category):
    bob = UserFactory(telegram_id=43, first_name="Bob")
    bobs = ProductFactory(category=category, name="Bob's secret", is_active=False)
    PurchaseFactory(user=bob, product=bobs)

    listed = command("/purchases")
    opened = press_for_screen(callbacks.product(bobs.id, callbacks.Back("purchases", page=1)))

    assert "You have not bought anything yet" in listed.params["text"]
    assert "Bob's secret" not in str(buttons(listed))
    assert opened.params["text"].startswith(NO_LONGER_AVAILABLE)
    assert "Bob's secret" not in opened.params["text"]


# --- help, terms, payment support ---


@pytest.mark.parametrize(
    ("command_text", "default_title"),
    [("/help", "<b>Help</b>"), ("/terms", "<b>Terms of sale</b>"), ("/paysupport", "<b>Payment support</b>")],
)
def test_info_commands_show_the_built_in_text_by_default(command, command_text, default_title):
    sent = command(command_text)

    assert default_title in sent.params["text"]
    assert buttons(sent) == [("« Menu", callbacks.menu())]


@pytest.mark.parametrize("key", list(BotText.Key))
def test_info_text_written_by_staff_replaces_the_built_in_one(command, db, key):
    BotText.objects.create(key=key, language="en", text=f"Staff text for <b>{key.value}</b>")

    sent = command(f"/{key.value}")

    assert sent.params["text"] == f"Staff text for <b>{key.value}</b>"


def test_help_button_shows_help_in_place(press_for_screen, db):
    default = press_for_screen(callbacks.help_())
    BotText.objects.create(key=BotText.Key.HELP, language="en", text="Ask <b>@support</b>")
    custom = press_for_screen(callbacks.help_())

    assert "<b>Help</b>" in default.params["text"]
    assert custom.params["text"] == "Ask <b>@support</b>"
    assert buttons(custom) == [("« Menu", callbacks.menu())]


def test_russian_customer_gets_the_russian_staff_text(command, press_for_screen, db):
    ivan = updates.tg_user(77, first_name="Иван", username="ivan", language_code="ru")
    BotText.objects.create(key=BotText.Key.HELP, language="en", text="English help")
    BotText.objects.create(key=BotText.Key.HELP, language="ru", text="Русская справка")
    BotText.objects.create(key=BotText.Key.TERMS, language="ru", text="Условия продажи")

    assert command("/help", user=ivan).params["text"] == "Русская справка"
    assert press_for_screen(callbacks.help_(), user=ivan).params["text"] == "Русская справка"
    assert command("/terms", user=ivan).params["text"] == "Условия продажи"
    assert command("/help").params["text"] == "English help"
    assert "Terms of sale" in command("/terms").params["text"]


def test_russian_customer_gets_the_russian_interface(command):
    """Needs compiled translations (botapp/locale/ru/LC_MESSAGES/django.mo)."""
    ivan = updates.tg_user(77, first_name="Иван", username="ivan", language_code="ru-RU")

    russian = command("/start", user=ivan)
    english = command("/start")

    assert [data for _, data in buttons(russian)] == [data for _, data in buttons(english)]
    assert buttons(russian)[0][0] != "🛍 Catalog"
    assert "Hello" not in russian.params["text"]


# --- anything else ---


STICKER = {
    "file_id": "s1",
    "file_unique_id": "su1",
    "type": "regular",
    "width": 512,
    "height": 512,
    "is_animated": False,
    "is_video": False,
}
PHOTO = [{"file_id": "p1", "file_unique_id": "pu1", "width": 90, "height": 90}]


@pytest.mark.parametrize(
    ("text", "media"),
    [("👋 !!!", {}), ("/unknown_command", {}), (None, {"sticker": STICKER}), (None, {"photo": PHOTO})],
    ids=["text without words", "unknown command", "sticker", "photo"],
)
def test_anything_not_understood_gets_a_hint_and_the_main_menu(send, fake_api, customer, db, text, media):
    send(updates.message(customer, text, **media))

    sent = only_screen(fake_api)
    assert sent.method == "sendMessage"
    assert sent.params["text"].startswith(NOT_UNDERSTOOD)
    assert buttons(sent) == MAIN_MENU


def test_not_understood_points_to_the_menu_help_and_support(settings, send, fake_api, customer, db):
    settings.ADMIN_IDS = [777]
    settings.SHOP_SUPPORT_CONTACT = "@shop_help"

    send(updates.message(customer, "/where_is_my_key"))

    sent = only_screen(fake_api)
    assert "/help" in sent.params["text"]
    assert "Press «Write to support» below, or write to @shop_help." in sent.params["text"]
    assert buttons(sent) == [*MAIN_MENU, ("✉️ Write to support", callbacks.support())]


def test_not_understood_without_staff_names_the_contact_and_offers_no_support_button(settings, send, fake_api, customer, db):
    settings.ADMIN_IDS = []
    settings.SHOP_SUPPORT_CONTACT = "support@example.com"

    send(updates.message(customer, None, sticker=STICKER))

    sent = only_screen(fake_api)
    assert "/help" in sent.params["text"]
    assert "Write to support@example.com." in sent.params["text"]
    assert buttons(sent) == MAIN_MENU


@pytest.mark.parametrize("chat_type", ["group", "supergroup"])
@pytest.mark.parametrize("text", ["/start", "/catalog", "/help", "hello", "/start p1"])
def test_messages_in_group_chats_get_no_answer(send, fake_api, customer, product, chat_type, text):
    group = {"id": -100123, "type": chat_type, "title": "Friends"}

    send(updates.message(customer, text, chat=group))

    assert fake_api.calls == []


# --- where the screen goes ---


@pytest.mark.parametrize("with_message", [False, True], ids=["no message", "inaccessible message"])
def test_button_under_a_message_the_bot_cannot_see_sends_a_new_message(send, fake_api, customer, product, with_message):
    update = updates.callback(customer, callbacks.catalog(), with_message=with_message)
    if with_message:
        update["callback_query"]["message"] = {"chat": {"id": 42, "type": "private"}, "message_id": 9, "date": 0}

    send(update)

    assert fake_api.calls_of("answerCallbackQuery")[0].params["callback_query_id"] == update["callback_query"]["id"]
    assert fake_api.calls_of("editMessageText") == []
    (sent,) = fake_api.calls_of("sendMessage")
    assert sent.params["chat_id"] == "42"
    assert "Catalog" in sent.params["text"]


def test_pressing_the_same_button_twice_sends_nothing_new(send, fake_api, customer, product):
    fake_api.fail_next(
        "editMessageText",
        400,
        "Bad Request: message is not modified: specified new message content and reply markup are exactly the same",
    )

    send(updates.callback(customer, callbacks.catalog()))

    assert len(fake_api.calls_of("answerCallbackQuery")) == 1
    assert len(fake_api.calls_of("editMessageText")) == 1
    assert fake_api.calls_of("sendMessage") == []


def test_message_that_cannot_be_edited_is_replaced_by_a_new_one(send, fake_api, customer, product):
    fake_api.fail_next("editMessageText", 400, "Bad Request: message can't be edited")

    send(updates.callback(customer, callbacks.catalog()))

    (attempt,) = fake_api.calls_of("editMessageText")
    (sent,) = fake_api.calls_of("sendMessage")
    assert sent.params["chat_id"] == "42"
    assert sent.params["text"] == attempt.params["text"]
    assert sent.json("reply_markup") == attempt.json("reply_markup")


def test_button_pressed_too_long_ago_still_shows_the_screen(send, fake_api, customer, product):
    """Telegram refuses to answer a query older than ~15 s (e.g. after a restart); the press must still work."""
    fake_api.fail_next(
        "answerCallbackQuery", 400, "Bad Request: query is too old and response timeout expired or query ID is invalid"
    )

    send(updates.callback(customer, callbacks.category(product.category_id), message_id=777))

    (edit,) = fake_api.calls_of("editMessageText")
    assert "<b>Keys</b>" in edit.params["text"]
    assert fake_api.calls_of("sendMessage") == []
