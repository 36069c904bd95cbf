"""Sharing products in any chat (inline mode): `@bot words` lists products on sale, an empty query the best
sellers, paged with next_offset; choosing one posts the public card (never hidden content, nothing personal)
with a button that opens it in the shop."""

import json

import pytest

from botapp import callbacks
from botapp.bot import ALLOWED_UPDATES
from botapp.testing import updates
from botapp.testing.helpers import buttons, post_update
from shop.testing.factories import ProductFactory, PurchaseFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def stars(settings):
    settings.SHOP_CURRENCY = "XTR"


@pytest.fixture
def inline(send, fake_api, customer):
    """Type `@shop_bot query` (with `offset`); returns the bot's one answer: (its results, its parameters)."""

    def _inline(query: str = "", *, offset: str = "", user=None):
        mark = fake_api.mark()
        update = updates.inline_query(user or customer, query, offset=offset)
        send(update)
        answers = [c for c in fake_api.calls[mark:] if c.method == "answerInlineQuery"]
        assert len(answers) == 1 and answers[0].status == 200, [(c.method, c.status) for c in fake_api.calls[mark:]]
        assert answers[0].params["inline_query_id"] == update["inline_query"]["id"]
        return answers[0].json("results"), answers[0].params

    return _inline


def test_a_query_lists_matching_products_on_sale_with_their_price(inline):
    product = ProductFactory(name="Windows key", description="Activation <b>in a minute</b>", price=120)
    ProductFactory(name="Windows XP key", is_active=False)
    ProductFactory(name="Photo course")

    results, params = inline("WINDOWS")

    assert [(r["type"], r["id"], r["title"]) for r in results] == [("article", f"p{product.pk}", "Windows key")]
    assert results[0]["description"] == "⭐ 120 · Activation in a minute"
    assert "thumbnail_url" not in results[0]  # no picture
    assert (params["cache_time"], params["is_personal"], params["next_offset"]) == ("60", "False", "")


def test_choosing_a_result_posts_the_card_with_a_link_into_the_shop(inline, command, fake_api):
    product = ProductFactory(name="Windows key", description="Activation <b>in a minute</b>", price=120)

    (result,), _params = inline("windows")

    content = result["input_message_content"]
    assert content["parse_mode"] == "HTML"
    assert content["message_text"] == "<b>Windows key</b>\n\nActivation <b>in a minute</b>\n\nPrice: ⭐ 120"
    ((button,),) = result["reply_markup"]["inline_keyboard"]
    assert button == {"text": "🛍 Open in the shop", "url": f"https://t.me/shop_bot?start=p{product.pk}"}

    # the link opens the card in the chat with the bot
    card = command("/start " + button["url"].split("start=")[1])
    assert "<b>Windows key</b>" in card.params["text"]
    assert ("Buy for ⭐ 120", callbacks.buy(product.pk)) in buttons(card)


def test_the_card_never_carries_hidden_content_nor_whether_the_sender_owns_it(inline, customer, fake_api):
    product = ProductFactory(name="Game key", hidden_content="SECRET-KEY-123")
    PurchaseFactory(product=product, user=UserFactory(telegram_id=customer["id"]))

    (result,), _params = inline("game")

    assert "SECRET" not in json.dumps(result)
    assert "own" not in result["input_message_content"]["message_text"]
    assert not [c for c in fake_api.calls if "SECRET" in repr(c.params)]


def test_an_empty_query_lists_the_best_sellers(inline):
    rare, popular = ProductFactory(name="Rare"), ProductFactory(name="Popular")
    ProductFactory(name="Unsold")
    PurchaseFactory.create_batch(3, product=popular)
    PurchaseFactory(product=rare)

    results, _params = inline("")

    assert [r["title"] for r in results] == ["Popular", "Rare", "Unsold"]


def test_many_results_come_in_pages_with_next_offset(inline):
    for n in range(45):
        ProductFactory(name=f"Game {n:02d}")

    first, params = inline("game")
    assert [r["title"] for r in first] == [f"Game {n:02d}" for n in range(20)]
    assert params["next_offset"] == "20"

    second, params = inline("game", offset="20")
    assert [r["title"] for r in second] == [f"Game {n:02d}" for n in range(20, 40)]

    last, params = inline("game", offset=params["next_offset"])
    assert [r["title"] for r in last] == [f"Game {n:02d}" for n in range(40, 45)]
    assert params["next_offset"] == ""


@pytest.mark.parametrize("offset", ["-5", "abc", "99999999999999999999", "1e3"])
def test_an_offset_the_bot_never_gave_starts_from_the_beginning(inline, offset):
    ProductFactory(name="Game")

    results, _params = inline("game", offset=offset)

    assert [r["title"] for r in results] == ["Game"]


def test_nothing_found_is_an_empty_answer(inline):
    ProductFactory(name="Game")

    results, params = inline("nothing like it")

    assert results == [] and params["next_offset"] == ""


def test_a_card_too_long_for_a_message_is_shared_shortened(inline):
    product = ProductFactory(name="Big", price=1)
    type(product).objects.filter(pk=product.pk).update(description="word " * 2000)  # past the admin's validation

    (result,), _params = inline("big")  # the fake refuses a message_text over 4096 characters

    assert len(result["input_message_content"]["message_text"]) <= 4096


def test_russian_queries_and_names_with_html_characters(inline):
    ProductFactory(name="Курс «Django & <ORM>»", description="Для <i>начинающих</i>", price=0)

    (result,), _params = inline("курс")

    assert result["title"] == "Курс «Django & <ORM>»"  # plain text, as Telegram shows titles
    assert result["description"] == "Free · Для начинающих"
    assert result["input_message_content"]["message_text"].startswith("<b>Курс «Django &amp; &lt;ORM&gt;»</b>")


def test_the_bot_asks_telegram_for_inline_queries():
    assert "inline_query" in ALLOWED_UPDATES


def test_an_inline_query_through_the_webhook_is_answered(settings, client, fake_api, customer):
    settings.TELEGRAM_WEBHOOK_SECRET = "s3cret"
    ProductFactory(name="Windows key")
    update = updates.inline_query(customer, "windows")
    fake_api.note(update)  # Telegram sent it

    assert post_update(client, update).status_code == 200

    (answer,) = fake_api.calls_of("answerInlineQuery")
    assert answer.status == 200
    assert [r["title"] for r in answer.json("results")] == ["Windows key"]
