"""A product card with a picture through a real `runbot` process and the fake Bot API, end to end: the first
customer's card uploads the picture, its id is kept, Back turns the photo into the text catalog in one
message, and the next customer's card is sent by the id."""

import json

import pytest
from django.core.files.base import ContentFile

from botapp import callbacks
from botapp.testing import updates
from botapp.testing.helpers import body, bot_messages, buttons, wait_until
from shop.models import Product
from shop.testing.factories import ProductFactory
from shop.testing.pictures import picture_bytes


def open_card(api, user, product):
    mark = api.mark()
    api.push(updates.message(user, f"/start p{product.pk}"))
    return api.wait_for("sendPhoto", lambda c: c.params["chat_id"] == str(user["id"]), after=mark)


@pytest.mark.django_db(transaction=True)
def test_the_picture_is_uploaded_once_and_back_from_the_photo_card_leaves_one_message(api, runbot, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    product = ProductFactory(name="Box set", price=10, description="Three boxes.")
    product.picture.save("box.jpg", ContentFile(picture_bytes(size=(300, 200))))
    runbot(env={"DJANGO_MEDIA_ROOT": str(settings.MEDIA_ROOT)})
    api.wait_for("setMyCommands", timeout=20)
    ann, bob = updates.tg_user(42, first_name="Ann"), updates.tg_user(43, first_name="Bob")

    card = open_card(api, ann, product)

    assert "<b>Box set</b>" in body(card)
    assert buttons(card)[0] == ("Buy for ⭐ 10", callbacks.buy(product.pk))
    assert [upload.content[:2] for upload in api.uploads] == [b"\xff\xd8"]  # the stored JPEG
    wait_until(lambda: Product.objects.get(pk=product.pk).picture_file_id, timeout=10, what="the picture's id kept")

    # Back, pressed under the photo: the catalog as text, the photo gone
    photo = card.result
    press = updates.callback(ann, callbacks.catalog(), message_id=photo["message_id"])
    press["callback_query"]["message"] = json.loads(json.dumps(api.message(42, photo["message_id"])))
    mark = api.mark()
    api.push(press)
    api.wait_for("deleteMessage", after=mark)
    [catalog] = bot_messages(api, 42)
    assert "photo" not in catalog and catalog["text"]

    card = open_card(api, bob, product)
    assert card.params["photo"] == Product.objects.get(pk=product.pk).picture_file_id
    assert len(api.uploads) == 1
