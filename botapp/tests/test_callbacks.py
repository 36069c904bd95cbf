"""Callback data: every button the bot builds parses back to what it meant; anything else is refused.

The second half presses forged buttons through the bot, as a hostile client could.
"""

import pytest

from botapp import callbacks
from botapp.callbacks import MAX_ID, Back, Parsed
from botapp.testing import updates
from shop.models import BotText, Category, Product, Purchase, User

pytestmark = pytest.mark.django_db


NO_LONGER_AVAILABLE = "Sorry, this is no longer available."

ROUND_TRIPS = [
    (callbacks.menu(), Parsed("menu")),
    (callbacks.help_(), Parsed("help")),
    (callbacks.noop(), Parsed("noop")),
    (callbacks.catalog(), Parsed("catalog", page=1)),
    (callbacks.catalog(3), Parsed("catalog", page=3)),
    (callbacks.category(7), Parsed("category", id=7, page=1)),
    (callbacks.category(7, 4), Parsed("category", id=7, page=4)),
    (callbacks.purchases(), Parsed("purchases", page=1)),
    (callbacks.purchases(5), Parsed("purchases", page=5)),
    (callbacks.product(9), Parsed("product", id=9, back=Back("catalog"))),
    (callbacks.product(9, Back("catalog")), Parsed("product", id=9, back=Back("catalog"))),
    (callbacks.product(9, Back("category", 7, 2)), Parsed("product", id=9, back=Back("category", 7, 2))),
    (callbacks.product(9, Back("purchases", page=3)), Parsed("product", id=9, back=Back("purchases", page=3))),
    (
        callbacks.product(MAX_ID, Back("category", MAX_ID, 2)),
        Parsed("product", id=MAX_ID, back=Back("category", MAX_ID, 2)),
    ),
    (callbacks.category(MAX_ID, 2), Parsed("category", id=MAX_ID, page=2)),
]


@pytest.mark.parametrize(("data", "expected"), ROUND_TRIPS, ids=[d for d, _ in ROUND_TRIPS])
def test_every_builder_parses_back_to_what_it_built(data, expected):
    assert callbacks.parse(data) == expected


MALFORMED = [
    None,
    "",
    "x" * 64,
    "menu ",
    " menu",
    "MENU",
    "menu\n",
    "cats",
    "cats:",
    "cats:abc",
    "cats:1:2",
    "cats:01",
    "cats:1.5",
    "cats:١",  # an Arabic-Indic digit: not an ASCII id
    "cat:1",
    "cat:a:1",
    "prod:abc:x",
    "prod:1",
    "prod:1:",
    "prod:1:y",
    "prod:1:c1",
    "prod:1:c1.",
    "prod:1:cx.1",
    "prod:1:m",
    "prod:1:mx",
    "prod:1:x:extra",
    "my:",
    "my:x",
    "help:1",
    "é" * 33,  # 66 bytes in UTF-8
]


@pytest.mark.parametrize("data", MALFORMED, ids=repr)
def test_malformed_data_is_refused(data):
    assert callbacks.parse(data) is None


ZERO_OR_NEGATIVE = [
    "cats:0",
    "cats:-1",
    "cat:0:1",
    "cat:-1:1",
    "cat:1:0",
    "cat:1:-1",
    "my:0",
    "my:-2",
    "prod:0:x",
    "prod:-5:x",
    "prod:1:c0.1",
    "prod:1:c1.0",
    "prod:1:m0",
]


@pytest.mark.parametrize("data", ZERO_OR_NEGATIVE)
def test_zero_and_negative_ids_and_pages_are_refused(data):
    assert callbacks.parse(data) is None


BEYOND_MAX_ID = [
    f"cat:{MAX_ID + 1}:1",
    f"prod:{MAX_ID + 1}:x",
    f"prod:1:c{MAX_ID + 1}.1",
    "prod:99999999999999999999:x",
    "cat:99999999999999999999:1",
    "cats:99999999999999999999",
]


@pytest.mark.parametrize("data", BEYOND_MAX_ID)
def test_ids_beyond_the_database_range_are_refused(data):
    assert callbacks.parse(data) is None


def test_the_largest_id_is_still_accepted():
    assert callbacks.parse(f"prod:{MAX_ID}:x") == Parsed("product", id=MAX_ID)


def test_data_longer_than_64_bytes_is_refused_even_if_it_would_otherwise_match():
    data = "menu" + "é" * 31  # 66 bytes
    assert len(data.encode()) > 64
    assert callbacks.parse(data) is None


# Pages stay far below 10**9 in any shop; ids go up to the largest BigAutoField value.
LARGEST_PAGE = 10**9 - 1
LARGEST_BUILT = [
    callbacks.menu(),
    callbacks.help_(),
    callbacks.noop(),
    callbacks.catalog(LARGEST_PAGE),
    callbacks.category(MAX_ID, LARGEST_PAGE),
    callbacks.purchases(LARGEST_PAGE),
    callbacks.product(MAX_ID),
    callbacks.product(MAX_ID, Back("category", MAX_ID, LARGEST_PAGE)),
    callbacks.product(MAX_ID, Back("purchases", page=LARGEST_PAGE)),
]


@pytest.mark.parametrize("data", LARGEST_BUILT)
def test_every_built_callback_fits_telegrams_64_bytes(data):
    assert 1 <= len(data.encode()) <= 64
    assert callbacks.parse(data) is not None


# --- forged buttons pressed through the bot ---


def _db_snapshot():
    return {model.__name__: model.objects.count() for model in (User, Category, Product, Purchase, BotText)}


FORGED = [
    "prod:abc:x",
    "cat:-1:1",
    "cat:1:0",
    "x" * 64,
    "prod:99999999999999999999:x",
    "",
    "cats:0",
    "my:1:2",
    "<b>menu</b>",
]


@pytest.mark.parametrize("data", FORGED, ids=repr)
def test_forged_button_is_answered_with_a_notice_and_the_catalog(send, fake_api, customer, product, data):
    before = _db_snapshot()
    update = updates.callback(customer, data, message_id=321)

    send(update)

    answer = fake_api.calls_of("answerCallbackQuery")
    assert [a.params["callback_query_id"] for a in answer] == [update["callback_query"]["id"]]
    assert answer[0].params.get("text") == NO_LONGER_AVAILABLE
    (edit,) = fake_api.calls_of("editMessageText")
    assert edit.params["message_id"] == "321"
    assert edit.params["text"].startswith(NO_LONGER_AVAILABLE)
    assert "Catalog" in edit.params["text"]
    button_data = [b["callback_data"] for row in edit.json("reply_markup")["inline_keyboard"] for b in row]
    assert callbacks.category(product.category_id) in button_data
    assert fake_api.calls_of("sendMessage") == []  # in particular no "something went wrong"
    assert _db_snapshot() == before


@pytest.mark.parametrize(
    "data",
    [
        callbacks.category(99999),
        callbacks.product(99999),
        callbacks.product(MAX_ID, Back("category", MAX_ID, 3)),
    ],
)
def test_well_formed_button_for_something_that_does_not_exist_gets_the_same_notice(send, fake_api, customer, product, data):
    before = _db_snapshot()

    send(updates.callback(customer, data))

    assert fake_api.calls_of("answerCallbackQuery")[0].params.get("text") == NO_LONGER_AVAILABLE
    (edit,) = fake_api.calls_of("editMessageText")
    assert edit.params["text"].startswith(NO_LONGER_AVAILABLE)
    assert fake_api.calls_of("sendMessage") == []
    assert _db_snapshot() == before


def test_product_button_of_another_category_page_cannot_reveal_an_off_sale_product(send, fake_api, customer, product):
    """The Back reference in the data is only a place to return to, never a permission."""
    product.is_active = False
    product.save()

    send(updates.callback(customer, callbacks.product(product.id, Back("purchases", page=1))))

    assert fake_api.calls_of("answerCallbackQuery")[0].params.get("text") == NO_LONGER_AVAILABLE
    (edit,) = fake_api.calls_of("editMessageText")
    assert product.name not in edit.params["text"]
    assert "KEY-123" not in edit.params["text"]


def test_noop_button_is_answered_and_changes_nothing(send, fake_api, customer):
    update = updates.callback(customer, callbacks.noop())

    send(update)

    assert [c.method for c in fake_api.calls] == ["answerCallbackQuery"]
    assert fake_api.calls[0].params["callback_query_id"] == update["callback_query"]["id"]
    assert "text" not in fake_api.calls[0].params
