"""The Bot API stand-in of Try the bot (botapp/bot_api_stand_in.py) answers as Telegram does: it refuses
what Telegram refuses, edits in place, keeps the test customer's chat and drops what goes elsewhere."""

import pytest

from botapp.bot_api_stand_in import StandIn
from botapp.models import TrialMessage
from botapp.simulator import TrialChat
from shop.trial import trial_customer_id

pytestmark = pytest.mark.django_db


def call(stand: StandIn, method: str, **params):
    response = stand(method, {key: str(value) for key, value in params.items()}, {})
    return response.status_code, response.json()


def test_the_stand_in_refuses_broken_html_like_telegram():
    stand = StandIn(chat_id=-(2**52) - 1)
    status, body = call(stand, "sendMessage", chat_id=stand.chat_id, text="<b>bold", parse_mode="HTML")
    assert status == 400 and body["description"].startswith("Bad Request: can't parse entities")
    status, _ = call(stand, "sendMessage", chat_id=stand.chat_id, text="<script>x</script>", parse_mode="HTML")
    assert status == 400
    status, _ = call(stand, "sendMessage", chat_id=stand.chat_id, text="x" * 4097)
    assert status == 400
    status, body = call(stand, "sendMessage", chat_id=stand.chat_id, text="<b>ok</b>", parse_mode="HTML")
    assert status == 200 and body["result"]["text"] == "<b>ok</b>"
    assert TrialMessage.objects.count() == 1


def test_the_stand_in_refuses_long_button_data_and_an_unchanged_edit():
    stand = StandIn(chat_id=-(2**52) - 1)
    markup = '{"inline_keyboard": [[{"text": "x", "callback_data": "%s"}]]}'
    status, _ = call(stand, "sendMessage", chat_id=stand.chat_id, text="hi", reply_markup=markup % ("x" * 65))
    assert status == 400
    status, body = call(stand, "sendMessage", chat_id=stand.chat_id, text="hi", reply_markup=markup % "ok")
    message_id = body["result"]["message_id"]
    status, body = call(
        stand, "editMessageText", chat_id=stand.chat_id, message_id=message_id, text="hi", reply_markup=markup % "ok"
    )
    assert status == 400 and "message is not modified" in body["description"]
    status, body = call(stand, "editMessageText", chat_id=stand.chat_id, message_id=999, text="hi")
    assert status == 400 and "message to edit not found" in body["description"]


def test_shown_html_is_safe_whatever_the_bot_sent():
    stand = StandIn(chat_id=-(2**52) - 1)
    call(stand, "sendMessage", chat_id=stand.chat_id, text='<a href="javascript:alert(1)">x</a> 1 &lt; 2')
    shown = TrialChat(staff_id=1, name="x")
    shown.chat_id = stand.chat_id
    html = shown.messages()[0]["html"]
    assert "<a" not in html and "javascript" in html  # plain text (no parse mode): escaped, not a link
    call(stand, "sendMessage", chat_id=stand.chat_id, text='<a href="javascript:alert(1)">x</a>', parse_mode="HTML")
    assert "javascript" not in shown.messages()[1]["html"]


def test_files_are_kept_as_file_cards_without_a_made_up_file_id():
    stand = StandIn(chat_id=-(2**52) - 1)
    response = stand(
        "sendDocument",
        {"chat_id": str(stand.chat_id), "caption": "<b>Manual</b>", "parse_mode": "HTML"},
        {"document": ("manual.pdf", b"%PDF")},
    )
    assert response.json()["result"]["document"]["file_id"] == ""  # nothing the shop would keep as Telegram's id
    status, body = call(stand, "sendPhoto", chat_id=stand.chat_id, photo="AgAC-photo-id", caption="A picture")
    assert status == 200 and body["result"]["photo"][-1]["file_id"] == "AgAC-photo-id"


def test_the_stand_in_edits_media_and_buttons_in_place_and_checks_invoices_and_answers():
    stand = StandIn(chat_id=trial_customer_id(staff_id=1))
    chat = TrialChat(staff_id=1, name="x")
    status, body = call(stand, "sendPhoto", chat_id=stand.chat_id, photo="AgAC-1", caption="<b>Card</b>", parse_mode="HTML")
    message_id = body["result"]["message_id"]
    media = '{"type": "document", "media": "attach://file", "caption": "<i>Manual</i>", "parse_mode": "HTML"}'
    params = {"chat_id": str(stand.chat_id), "message_id": str(message_id), "media": media}
    response = stand("editMessageMedia", params, {"file": ("manual.pdf", b"%PDF")})
    assert response.status_code == 200
    (shown,) = chat.messages()
    assert (shown["id"], shown["file"], shown["html"], shown["edited"]) == (
        message_id,
        {"kind": "document", "name": "manual.pdf"},
        "<i>Manual</i>",
        True,
    )
    markup = '{"inline_keyboard": [[{"text": "Site", "url": "https://example.com"}, {"text": "Go", "callback_data": "x"}]]}'
    status, _ = call(stand, "editMessageReplyMarkup", chat_id=stand.chat_id, message_id=message_id, reply_markup=markup)
    assert status == 200
    assert chat.messages()[0]["buttons"] == [[{"text": "Site", "url": "https://example.com"}, {"text": "Go", "data": "x"}]]
    status, body = call(stand, "editMessageText", chat_id=stand.chat_id, message_id=message_id, text="text")
    assert status == 400 and "no text in the message" in body["description"]

    status, body = call(stand, "answerCallbackQuery", callback_query_id="1", text="x" * 201)
    assert status == 400
    call(stand, "answerCallbackQuery", callback_query_id="1", text="Done")
    assert stand.toasts == ["Done"]

    prices = '[{"label": "A", "amount": 5}]'
    invoice = {"chat_id": stand.chat_id, "title": "x" * 33, "description": "d", "payload": "p", "currency": "XTR"}
    status, body = call(stand, "sendInvoice", **invoice, prices=prices)
    assert status == 400 and body["description"] == "Bad Request: INVOICE_TITLE_INVALID"
    status, body = call(stand, "sendInvoice", **{**invoice, "title": "Ok"}, prices=prices, provider_token="tok")
    assert status == 400 and body["description"] == "Bad Request: STARS_INVOICE_INVALID"
    status, body = call(stand, "sendInvoice", **{**invoice, "title": "Ok"}, prices=prices)
    assert status == 200 and body["result"]["invoice"]["total_amount"] == 5
    assert "payload" not in chat.messages()[-1]["invoice"]  # the page never sees the signed payload


def test_calls_to_other_chats_are_taken_and_dropped():
    stand = StandIn(chat_id=trial_customer_id(staff_id=1))
    status, _ = call(stand, "sendMessage", chat_id=12345, text="New purchase!")
    assert status == 200
    assert not TrialMessage.objects.exists()
