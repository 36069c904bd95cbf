"""What the bot says: within Telegram's limits, escaped where a person typed it, valid HTML in every language."""

import datetime
import re

import pytest
from django.utils import translation

from botapp import screens, texts
from shop.models import DESCRIPTION_MAX_LENGTH, Product
from shop.telegram_html import validate_telegram_html, visible_length, visible_text
from shop.testing.factories import ProductFactory, UserFactory


@pytest.fixture(autouse=True)
def stars(settings):
    settings.SHOP_CURRENCY = "XTR"


def assert_valid_for_sale(product: Product) -> None:
    """Staff could save this product in the admin."""
    product.full_clean(exclude=["category"])


# --- shorten ---


@pytest.mark.parametrize("limit", [1, 2, 10, 60, texts.MESSAGE_LIMIT])
@pytest.mark.parametrize("length", [0, 1, 9, 10, 11, 59, 60, 61, 4095, 4096, 4097, 10_000])
def test_shorten_keeps_within_the_limit(limit, length):
    text = "a" * length

    shortened = texts.shorten(text, limit)

    assert len(shortened) <= limit
    if length <= limit:
        assert shortened == text
    else:
        assert shortened.endswith("…")
        assert shortened[:-1] == text[: len(shortened) - 1]


def test_shorten_does_not_leave_a_space_before_the_ellipsis():
    assert texts.shorten("Hello wonderful world", 7) == "Hello…"


# --- product card ---


def test_product_card_escapes_the_name_keeps_the_description_and_formats_the_price():
    product = ProductFactory.build(name="<Pro> & Co", description="A <b>great</b> editor.", price=50)

    card = texts.product_card(product, owned=False)

    assert card.startswith("<b>&lt;Pro&gt; &amp; Co</b>")
    assert "A <b>great</b> editor." in card
    assert "Price: ⭐ 50" in card
    validate_telegram_html(card)


def test_product_card_in_roubles(settings):
    settings.SHOP_CURRENCY = "RUB"

    assert "Price: 990 ₽" in texts.product_card(ProductFactory.build(price=990), owned=False)


def test_free_product_card_says_free():
    assert "Price: Free" in texts.product_card(ProductFactory.build(price=0), owned=False)


def test_product_card_of_an_owned_product_says_so():
    assert "✅ You own this product." in texts.product_card(ProductFactory.build(), owned=True)
    assert "You own" not in texts.product_card(ProductFactory.build(), owned=False)


def test_product_card_of_an_off_sale_product_says_it_is_no_longer_on_sale():
    card = texts.product_card(ProductFactory.build(is_active=False), owned=False)

    assert "This product is no longer on sale." in card


def test_product_card_with_the_longest_plain_description_and_name_fits_one_message(db):
    product = ProductFactory.build(name="&" * 128, description="d" * DESCRIPTION_MAX_LENGTH, price=2**31 - 1)
    assert_valid_for_sale(product)

    card = texts.product_card(product, owned=True)
    shown = screens.product_card(product, owned=True).text

    assert len(card) <= texts.MESSAGE_LIMIT
    assert shown == card  # nothing cut off
    validate_telegram_html(shown)


FORMATTED_DESCRIPTIONS = {
    "bold words": "<b>bold</b> and <i>italic</i>. " * 93,
    "links": '<a href="https://example.com/a/rather/long/path/to/the/product/page">more</a> ' * 150,
    "entities": "Tom &amp; Jerry &lt;3 " * 140,
}


@pytest.mark.parametrize("description", FORMATTED_DESCRIPTIONS.values(), ids=FORMATTED_DESCRIPTIONS.keys())
def test_product_card_with_a_long_formatted_description_is_shown_whole_and_as_valid_html(db, description):
    """Telegram's 4096 limit counts the visible text, not the tags; a card cut inside a tag is refused."""
    product = ProductFactory.build(description=description.strip())
    assert_valid_for_sale(product)

    shown = screens.product_card(product, owned=False).text

    assert visible_length(shown) <= texts.MESSAGE_LIMIT
    validate_telegram_html(shown)
    assert visible_text(product.description) in visible_text(shown)


# --- other texts ---


def test_welcome_escapes_the_first_name():
    assert "Hello, &lt;b&gt;Bob&lt;/b&gt; &amp; Co!" in texts.welcome("<b>Bob</b> & Co")


def test_welcome_without_a_first_name_still_greets():
    assert texts.welcome("").startswith("Hello! 👋")


def test_category_title_escapes_the_name():
    assert texts.category("Books & <Comics>", 1, 1).startswith("<b>Books &amp; &lt;Comics&gt;</b>")


def test_page_suffix_only_when_there_is_more_than_one_page():
    assert texts.page_suffix(1, 1) == ""
    assert texts.page_suffix(2, 3) == "\n\nPage 2 of 3"


def test_purchases_count_is_singular_or_plural():
    assert "You have 1 purchase." in texts.purchases(1, 1, 1)
    assert "You have 5 purchases." in texts.purchases(5, 1, 1)


def test_button_texts_stay_short():
    product = ProductFactory.build(name="N" * 128, price=123456)

    assert len(texts.product_button(product)) <= texts.BUTTON_TEXT_LIMIT
    assert texts.product_button(product).endswith("… · ⭐ 123456")  # a long name is cut, never the price
    assert len(texts.category_button("C" * 100, 12345)) <= texts.BUTTON_TEXT_LIMIT
    assert len(texts.purchase_button("N" * 128, "12/31/2025")) <= texts.BUTTON_TEXT_LIMIT
    assert texts.product_button(ProductFactory.build(name="Guide", price=0)) == "Guide · free"
    assert texts.product_button(ProductFactory.build(name="Editor", price=50)) == "Editor · ⭐ 50"


# --- every language ---

LANGUAGES = ["en", "ru"]


def _all_texts() -> dict[str, str]:
    return {
        "welcome": texts.welcome("<Ann>"),
        "main_menu": texts.main_menu(),
        "catalog": texts.catalog(2, 3),
        "catalog_empty": texts.catalog_empty(),
        "category": texts.category("Keys & <Codes>", 1, 2),
        "product_card": texts.product_card(ProductFactory.build(price=0, is_active=False), owned=False),
        "product_card_owned": texts.product_card(ProductFactory.build(), owned=True),
        "purchases_one": texts.purchases(1, 1, 1),
        "purchases_many": texts.purchases(5, 2, 3),
        "purchases_empty": texts.purchases_empty(),
        "no_longer_available": texts.no_longer_available(),
        "not_understood": texts.not_understood(),
        "help": texts.help_default(),
        "terms": texts.terms_default(),
        "paysupport": texts.paysupport_default(),
        "something_went_wrong": texts.something_went_wrong(),
        "support_hint": texts.support_hint(can_write=True, contact="<@shop & help>"),
        "support_hint_contact": texts.support_hint(can_write=False, contact="@shop_help"),
        "support_prompt": texts.support_prompt(),
        "support_cancelled": texts.support_cancelled(),
        "support_sent": texts.support_sent(),
        "support_not_sent": texts.support_not_sent("<@shop & help>"),
        "support_kind_not_taken": texts.support_kind_not_taken(),
        "support_too_many": texts.support_too_many(),
        "support_header": texts.support_header(UserFactory.build(first_name="<Ann>", username="a_b", telegram_id=42), []),
        "support_answer_sent": texts.support_answer_sent("<Ann>"),
        "support_answer_blocked": texts.support_answer_blocked("<Ann>"),
        "support_answer_refused": texts.support_answer_refused("<Ann>", "400 Bad Request: <what>"),
        "file_id_of_photo": texts.file_id_of_kind("photo", "<id>"),
        "file_id_of_document": texts.file_id_of_kind("document", "<id>"),
        "search_prompt": texts.search_prompt(),
        "search_results_one": texts.search_results("<b>keys & codes</b>", 1, 1, 1),
        "search_results_many": texts.search_results("x" * 500, 25, 2, 4),
        "search_nothing_found": texts.search_nothing_found("<i>nothing & none"),
        "search_expired": texts.search_expired(),
    }


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_text_is_valid_telegram_html(language):
    with translation.override(language):
        all_texts = _all_texts()

    for name, text in all_texts.items():
        assert text.strip(), name
        assert len(text) <= texts.MESSAGE_LIMIT, name
        validate_telegram_html(text)


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_the_values_they_show(language):
    with translation.override(language):
        assert "Ann" in texts.welcome("Ann")
        assert "Keys" in texts.category("Keys", 1, 1)
        assert re.search(r"\b2\b.*\b3\b", texts.page_suffix(2, 3))
        assert "5" in texts.purchases(5, 1, 1)


@pytest.mark.parametrize("language", LANGUAGES)
def test_button_answers_fit_telegrams_200_characters(language):
    with translation.override(language):
        answers = [
            texts.continued_in_private(),
            texts.open_the_bot_first("a" * 32),
            texts.open_the_bot_first(None),
            texts.support_unavailable(""),
            texts.support_unavailable("x" * 300),
        ]

    assert all(0 < len(answer) <= 200 for answer in answers), answers


@pytest.mark.parametrize(
    ("language", "moment", "shown"),
    [
        ("en", datetime.date(2026, 12, 2), "2 Dec 2026"),
        ("ru", datetime.date(2026, 12, 2), "2 дек 2026"),
        ("ru", datetime.date(2026, 5, 31), "31 мая 2026"),
        ("en", datetime.datetime(2026, 1, 1, 0, 30, tzinfo=datetime.UTC), "1 Jan 2026"),
    ],
)
def test_dates_are_day_first(language, moment, shown):
    with translation.override(language):
        assert texts.short_date(moment) == shown


def test_dates_follow_the_shops_time_zone(settings):
    settings.TIME_ZONE = "America/New_York"

    assert texts.short_date(datetime.datetime(2026, 1, 1, 0, 30, tzinfo=datetime.UTC)) == "31 Dec 2025"


def test_russian_interface_is_translated():
    """Needs compiled translations (botapp/locale/ru/LC_MESSAGES/django.mo)."""
    with translation.override("ru"):
        russian = [texts.button_catalog(), texts.button_purchases(), texts.button_help(), texts.main_menu()]
    with translation.override("en"):
        english = [texts.button_catalog(), texts.button_purchases(), texts.button_help(), texts.main_menu()]

    assert all(r != e for r, e in zip(russian, english, strict=True))


@pytest.mark.parametrize("language", LANGUAGES)
def test_bot_menu_commands_fit_telegrams_rules(language):
    with translation.override(language):
        commands = texts.command_descriptions()

    for name, description in commands.items():
        assert re.fullmatch(r"[a-z0-9_]{1,32}", name)
        assert 1 <= len(description) <= 256


def test_product_card_of_a_description_too_long_for_one_message_is_shown_plain_and_shortened():
    """Data that bypassed the admin (a shell, an import) must still open rather than be refused by Telegram."""
    description = "<b>word</b> &amp; " * 1000  # 7000 visible characters
    product = ProductFactory.build(name="Editor Pro", price=50, description=description)

    shown = screens.product_card(product, owned=True).text

    assert visible_length(shown) <= texts.MESSAGE_LIMIT
    validate_telegram_html(shown)
    assert shown.startswith("<b>Editor Pro</b>")
    assert "Price: ⭐ 50" in shown
    assert "✅ You own this product." in shown
