"""The fake Bot API's photos, media edits and deletions behave as the Bot API documents them
(sendPhoto, editMessageMedia, editMessageText, deleteMessage)."""

import io
import json

import pytest
import requests
from telebot.apihelper import ApiTelegramException
from telebot.types import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, InputMediaPhoto, LabeledPrice

from botapp.telegram.client import new_client
from botapp.testing.fake_bot_api import TOKEN

CHAT = 42


@pytest.fixture
def client(fake_api):
    return new_client()


def refused(call) -> str:
    with pytest.raises(ApiTelegramException) as caught:
        call()
    assert caught.value.error_code == 400
    return caught.value.description


def keyboard(text: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(text, callback_data=text)]])


def test_a_photo_uploaded_once_is_sent_again_by_its_id(client, fake_api):
    first = client.send_photo(CHAT, InputFile(io.BytesIO(b"JPEG"), file_name="box.jpg"), caption="<b>Box</b>")
    file_id = first.photo[-1].file_id
    again = client.send_photo(CHAT, file_id)

    assert [upload.content for upload in fake_api.uploads] == [b"JPEG"]
    assert again.photo[-1].file_id == file_id
    assert fake_api.message(CHAT, first.message_id)["caption"] == "<b>Box</b>"


def test_edit_message_media_replaces_a_photo_uploading_the_new_one(client, fake_api):
    sent = client.send_photo(CHAT, "old-photo", caption="Old", reply_markup=keyboard("A"))

    edited = client.edit_message_media(
        InputMediaPhoto(InputFile(io.BytesIO(b"NEW"), file_name="new.jpg"), caption="<i>New</i>", parse_mode="HTML"),
        CHAT,
        sent.message_id,
        reply_markup=keyboard("B"),
    )

    assert edited.message_id == sent.message_id
    assert edited.photo[-1].file_id.startswith("uploaded-1-")
    assert [upload.content for upload in fake_api.uploads] == [b"NEW"]
    now = fake_api.message(CHAT, sent.message_id)
    assert (now["caption"], now["reply_markup"]["inline_keyboard"][0][0]["text"]) == ("<i>New</i>", "B")


def test_edit_message_media_adds_a_photo_to_a_text_message(client, fake_api):
    text = client.send_message(CHAT, "Plain")

    client.edit_message_media(InputMediaPhoto("photo-id", caption="Now a photo"), CHAT, text.message_id)

    now = fake_api.message(CHAT, text.message_id)
    assert "text" not in now and now["photo"][-1]["file_id"] == "photo-id"


def test_edit_message_media_with_nothing_new_is_not_modified(client):
    sent = client.send_photo(CHAT, "photo-id", caption="Same", reply_markup=keyboard("A"))
    same = InputMediaPhoto("photo-id", caption="Same")

    assert "message is not modified" in refused(
        lambda: client.edit_message_media(same, CHAT, sent.message_id, reply_markup=keyboard("A"))
    )
    client.edit_message_media(same, CHAT, sent.message_id, reply_markup=keyboard("B"))  # new buttons: taken


@pytest.mark.parametrize(
    ("caption", "reason"),
    [("x" * 1025, "caption is too long"), ("<b>" + "x" * 1024 + "</b>", None), ("<b>open", "can't parse entities")],
)
def test_edit_message_media_checks_the_caption_as_telegram_does(client, caption, reason):
    sent = client.send_photo(CHAT, "photo-id")
    edit = lambda: client.edit_message_media(InputMediaPhoto("other", caption=caption, parse_mode="HTML"), CHAT, sent.message_id)  # noqa: E731

    if reason is None:
        edit()
    else:
        assert reason in refused(edit)


def test_edit_message_media_refuses_an_invoice_and_a_missing_upload(client, fake_api):
    invoice = client.send_invoice(CHAT, "T", "D", "payload", None, "XTR", [LabeledPrice("T", 5)])
    assert "message can't be edited" in refused(lambda: client.edit_message_media(InputMediaPhoto("p"), CHAT, invoice.message_id))

    photo = client.send_photo(CHAT, "photo-id")
    media = json.dumps({"type": "photo", "media": "attach://picture"})  # the part named is not in the request
    answer = requests.post(
        f"{fake_api.url}/bot{TOKEN}/editMessageMedia", data={"chat_id": CHAT, "message_id": photo.message_id, "media": media}
    )
    assert (answer.status_code, answer.json()["description"]) == (400, "Bad Request: wrong HTTP URL specified")


def test_a_photo_cannot_be_edited_into_text(client):
    photo = client.send_photo(CHAT, "photo-id", caption="A photo")

    assert "there is no text in the message to edit" in refused(lambda: client.edit_message_text("Text", CHAT, photo.message_id))


def test_delete_message_removes_it_from_the_chat_once(client, fake_api):
    first = client.send_message(CHAT, "One")
    second = client.send_photo(CHAT, "photo-id")

    assert client.delete_message(CHAT, first.message_id) is True

    assert [message["message_id"] for message in fake_api.chat(CHAT)] == [second.message_id]
    assert "message to delete not found" in refused(lambda: client.delete_message(CHAT, first.message_id))
