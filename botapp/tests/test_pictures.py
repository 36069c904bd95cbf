"""Cards and category pages with a picture: shown as a photo with the text as its caption and the buttons,
one message in the chat whatever the screen before was, the picture uploaded once and then sent by its id."""

import json
import time

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from telebot import apihelper

from botapp import callbacks, texts
from botapp.testing import updates
from botapp.testing.helpers import body, bot_messages, buttons, press_under
from shop.models import Category, Product
from shop.reviews.services import review_rate
from shop.selectors.catalog import catalog_version
from shop.telegram_html import visible_length
from shop.testing.factories import ProductFactory, PurchaseFactory, StockProductFactory, UserFactory, stocked
from shop.testing.pictures import picture_bytes

pytestmark = pytest.mark.django_db

CHANGES = ("sendMessage", "sendPhoto", "editMessageText", "editMessageMedia", "deleteMessage")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.SHOP_CURRENCY = "XTR"
    return tmp_path


def with_picture(row, name="box.jpg"):
    row.picture.save(name, ContentFile(picture_bytes(), name=name))
    return row


@pytest.fixture
def boxed(product):
    """The product (Editor Pro, in Keys) with a picture."""
    return with_picture(product)


@pytest.fixture
def chat(send, fake_api, customer):
    """The customer's chat: /start sent; `chat.press(data)` presses a button under the bot's one message."""

    class Chat:
        def __init__(self):
            send(updates.message(customer, "/start"))
            self.message_id = self.only()["message_id"]

        def only(self) -> dict:
            """The one message of the bot in the chat (the screen); fails if there are more."""
            messages = bot_messages(fake_api, customer["id"])
            assert len(messages) == 1, messages
            return messages[0]

        def press(self, data: str) -> list:
            calls = press_under(send, fake_api, customer, self.message_id, data)
            self.message_id = self.only()["message_id"]
            return [call for call in calls if call.method in CHANGES]

    return Chat()


def media_of(call) -> dict:
    return json.loads(call.params["media"])


def test_a_card_with_a_picture_is_the_photo_with_the_card_as_its_caption_and_the_buttons(chat, fake_api, boxed):
    chat.press(callbacks.category(boxed.category_id))

    [edit] = chat.press(callbacks.product(boxed.id, callbacks.Back("category", boxed.category_id, 1)))

    assert edit.method == "editMessageMedia"  # the text screen's message gets the photo: still one message
    media = media_of(edit)
    assert (media["type"], media["parse_mode"]) == ("photo", "HTML")
    assert "<b>Editor Pro</b>" in media["caption"] and "A <b>great</b> editor." in media["caption"]
    assert buttons(edit) == [("Buy for ⭐ 50", callbacks.buy(boxed.id)), ("« Back", callbacks.category(boxed.category_id, 1))]
    shown = chat.only()
    assert shown["photo"] and "Editor Pro" in shown["caption"] and "text" not in shown
    assert [upload.filename for upload in fake_api.uploads] == [boxed.picture.name.rsplit("/", 1)[1]]


def test_the_picture_is_uploaded_once_then_sent_by_telegrams_id(chat, fake_api, boxed):
    card = callbacks.product(boxed.id)
    chat.press(card)
    boxed.refresh_from_db()
    assert boxed.picture_file_id == "uploaded-1-" + boxed.picture.name.rsplit("/", 1)[1]

    chat.press(callbacks.catalog())
    [edit] = chat.press(card)

    assert media_of(edit)["media"] == boxed.picture_file_id
    assert len(fake_api.uploads) == 1


def test_photo_card_back_to_a_text_screen_and_to_the_card_again_keeps_one_message(chat, fake_api, boxed):
    back = callbacks.Back("category", boxed.category_id, 1)
    chat.press(callbacks.category(boxed.category_id))
    text_message = chat.message_id
    chat.press(callbacks.product(boxed.id, back))
    assert chat.message_id == text_message  # the photo was added to the same message

    to_category = chat.press(callbacks.category(boxed.category_id, 1))

    # Telegram cannot turn a photo into text: the category is sent, the photo deleted
    assert [call.method for call in to_category] == ["sendMessage", "deleteMessage"]
    assert to_category[1].params["message_id"] == str(text_message)
    category_message = chat.only()
    assert "Keys" in category_message["text"] and "photo" not in category_message

    again = chat.press(callbacks.product(boxed.id, back))

    assert [call.method for call in again] == ["editMessageMedia"]
    assert media_of(again[0])["media"] == Product.objects.get(pk=boxed.pk).picture_file_id
    assert chat.only()["photo"]
    assert len(fake_api.uploads) == 1


def test_a_category_with_a_picture_is_a_photo_and_its_product_card_replaces_the_photo(chat, fake_api, boxed, category):
    with_picture(category, "keys.jpg")

    [page] = chat.press(callbacks.category(category.id))
    [card] = chat.press(callbacks.product(boxed.id, callbacks.Back("category", category.id, 1)))

    assert page.method == card.method == "editMessageMedia"
    assert "Keys" in media_of(page)["caption"]
    assert "Editor Pro" in media_of(card)["caption"]
    assert [upload.filename.split("_")[0].removesuffix(".jpg") for upload in fake_api.uploads] == ["keys", "box"]
    assert Category.objects.get(pk=category.pk).picture_file_id.startswith("uploaded-1-keys")


def test_the_same_button_pressed_twice_on_a_photo_card_changes_nothing(chat, fake_api, boxed):
    card = callbacks.product(boxed.id)
    chat.press(card)

    second = chat.press(card)

    [edit] = second
    assert fake_api.calls_of("editMessageMedia")[-1].status == 400  # "message is not modified", taken as done
    assert edit.method == "editMessageMedia"
    assert chat.only()["photo"]


def test_a_card_too_long_for_a_caption_is_shown_as_text_without_the_picture(chat, fake_api, category):
    long_one = with_picture(ProductFactory(category=category, name="Manual", description="Read me. " * 150))

    [edit] = chat.press(callbacks.product(long_one.id))

    assert edit.method == "editMessageText"
    assert "Read me." in edit.params["text"]
    assert fake_api.uploads == []
    assert "photo" not in chat.only()


def test_a_product_without_a_picture_is_shown_as_text_as_before(chat, fake_api, product):
    [edit] = chat.press(callbacks.product(product.id))

    assert edit.method == "editMessageText"
    assert "<b>Editor Pro</b>" in edit.params["text"]
    assert fake_api.uploads == []


def test_a_deep_link_to_a_product_with_a_picture_sends_the_photo_card(send, fake_api, customer, boxed):
    send(updates.message(customer, f"/start p{boxed.id}"))

    [photo] = fake_api.calls_of("sendPhoto")
    assert "Editor Pro" in body(photo)
    assert buttons(photo)[0] == ("Buy for ⭐ 50", callbacks.buy(boxed.id))
    assert len(bot_messages(fake_api, customer["id"])) == 1


def test_a_cached_category_page_sends_the_id_learnt_after_it_was_cached(chat, fake_api, boxed, category):
    with_picture(category, "keys.jpg")
    page = callbacks.category(category.id)
    chat.press(page)  # cached with no Telegram id yet; the upload gives one
    version = catalog_version()
    chat.press(callbacks.product(boxed.id))

    with CaptureQueriesContext(connection) as queries:
        [again] = chat.press(page)

    assert catalog_version() == version  # keeping the id did not throw the cached screens away
    assert media_of(again)["media"] == Category.objects.get(pk=category.pk).picture_file_id
    assert len(fake_api.uploads) == 2  # the category's and the product's pictures, once each
    assert len(queries) <= 2  # as a cached page without a picture


def test_a_photo_card_costs_at_most_five_queries_even_with_its_upload(chat, boxed):
    with CaptureQueriesContext(connection) as first:
        chat.press(callbacks.product(boxed.id))
    chat.press(callbacks.catalog())
    with CaptureQueriesContext(connection) as later:
        chat.press(callbacks.product(boxed.id))

    assert len(first) <= 5
    assert len(later) <= len(first) - 1  # no id to keep any more


def test_a_picture_missing_from_storage_leaves_the_card_as_text(chat, fake_api, boxed, media):
    (media / boxed.picture.name).unlink()

    [edit] = chat.press(callbacks.product(boxed.id))

    assert edit.method == "editMessageText"
    assert "Editor Pro" in edit.params["text"]


def test_where_telegram_will_not_add_a_photo_to_a_text_message_the_card_is_sent_and_the_text_deleted(chat, fake_api, boxed):
    fake_api.fail_next("editMessageMedia", 400, "Bad Request: there is no media in the message to edit")
    old = chat.message_id

    calls = chat.press(callbacks.product(boxed.id))

    assert [call.method for call in calls] == ["editMessageMedia", "sendPhoto", "deleteMessage"]
    assert calls[2].params["message_id"] == str(old)
    assert chat.only()["photo"]


def test_buy_under_a_photo_card_sends_the_invoice_below_it(send, fake_api, customer, chat, boxed):
    chat.press(callbacks.product(boxed.id))

    calls = press_under(send, fake_api, customer, chat.message_id, callbacks.buy(boxed.id))

    assert [call.method for call in calls if call.method in (*CHANGES, "sendInvoice")] == ["sendInvoice"]
    assert [bool(message.get("photo")) for message in bot_messages(fake_api, customer["id"])] == [True, False]


def test_an_id_telegram_no_longer_takes_is_replaced_by_a_new_upload(chat, fake_api, boxed):
    Product.objects.filter(pk=boxed.pk).update(picture_file_id="id-of-the-shops-old-bot")
    fake_api.fail_next("editMessageMedia", 400, "Bad Request: wrong file identifier/HTTP URL specified")

    calls = chat.press(callbacks.product(boxed.id))

    refused, uploaded = calls
    assert media_of(refused)["media"] == "id-of-the-shops-old-bot"
    assert media_of(uploaded)["media"].startswith("attach://")
    assert len(fake_api.uploads) == 1
    assert Product.objects.get(pk=boxed.pk).picture_file_id.startswith("uploaded-1-")
    assert chat.only()["photo"]


def test_more_on_a_stock_card_with_a_picture_edits_the_photo_in_place(chat, fake_api, category):
    product = with_picture(StockProductFactory(category=category, name="Game key", price=10))
    stocked(product, 3)
    [card] = chat.press(callbacks.product(product.id))
    more = next(data for text, data in buttons(card) if text == "➕")

    [edit] = chat.press(more)

    assert edit.method == "editMessageMedia"
    assert media_of(edit)["media"] == Product.objects.get(pk=product.pk).picture_file_id
    assert ("Buy 2 for ⭐ 20", callbacks.buy(product.id, 2)) in buttons(edit)
    assert chat.only()["photo"]


def test_a_rated_card_with_a_picture_keeps_its_photo_with_the_rating_in_the_caption(chat, fake_api, boxed):
    reviewer = UserFactory(telegram_id=777)
    PurchaseFactory(user=reviewer, product=boxed)
    review_rate(telegram_id=reviewer.telegram_id, product_id=boxed.pk, rating=5)

    [edit] = chat.press(callbacks.product(boxed.id))

    assert edit.method == "editMessageMedia"
    caption = media_of(edit)["caption"]
    assert "Editor Pro" in caption and "★ 5.0 (1)" in caption


def test_a_card_that_just_fits_a_caption_keeps_its_photo_when_rated_without_the_rating_line(chat, fake_api, category):
    product = ProductFactory(category=category, name="Manual", description="x")
    product.description = "x" * (texts.CAPTION_LIMIT - visible_length(texts.product_card(product, owned=False)) + 1)
    product.save()
    assert visible_length(texts.product_card(product, owned=False)) == texts.CAPTION_LIMIT
    with_picture(product)
    reviewer = UserFactory(telegram_id=777)
    PurchaseFactory(user=reviewer, product=product)
    review_rate(telegram_id=reviewer.telegram_id, product_id=product.pk, rating=5)

    [edit] = chat.press(callbacks.product(product.id))

    assert edit.method == "editMessageMedia"
    caption = media_of(edit)["caption"]
    assert "Manual" in caption and "★" not in caption
    assert "💬 Reviews (1)" in [text for text, _data in buttons(edit)]


def test_a_photo_telegram_is_slow_to_confirm_is_not_sent_again_as_text(send, fake_api, customer, boxed, monkeypatch):
    monkeypatch.setattr(apihelper, "READ_TIMEOUT", 1)
    fake_api.delay_next("sendPhoto", 2)  # Telegram answers late, but sends the photo

    send(updates.message(customer, f"/start p{boxed.id}"))
    time.sleep(1.5)  # the slow sendPhoto completes at the fake

    messages = bot_messages(fake_api, customer["id"])
    assert len(messages) == 1 and messages[0]["photo"], [(m.get("caption") or m.get("text") or "")[:30] for m in messages]
