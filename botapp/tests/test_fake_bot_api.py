"""The fake Bot API refuses what Telegram refuses (botapp/testing/telegram_rules.py), so a test
catches a message the real Telegram would reject."""

import pytest
from telebot.apihelper import ApiTelegramException
from telebot.types import InlineKeyboardButton, InlineKeyboardMarkup, LabeledPrice

from botapp.telegram.client import new_client
from botapp.testing import updates

CHAT = 42


@pytest.fixture
def client(fake_api):
    return new_client()


def refused(call) -> str:
    with pytest.raises(ApiTelegramException) as caught:
        call()
    assert caught.value.error_code == 400
    return caught.value.description


@pytest.mark.parametrize(
    "text, reason",
    [
        ("<b>bold", "Can't find end tag"),
        ("<b>bold</i>", "Unmatched end tag"),
        ("<div>block</div>", 'Unsupported start tag "div"'),
        ('<span class="x">?</span>', "tg-spoiler"),
        ("<a>no link</a>", "href"),
        ("Tom &amp Jerry &nbsp;", "Unsupported HTML entity"),
        ("   ", "message text is empty"),
        ("x" * 4097, "message text is too long"),
        ("😀" * 2049, "message text is too long"),  # 4098 UTF-16 units, as Telegram counts
    ],
)
def test_messages_telegram_would_refuse_get_400(client, fake_api, text, reason):
    assert reason in refused(lambda: client.send_message(CHAT, text))
    assert fake_api.calls_of("sendMessage")[-1].status == 400


@pytest.mark.parametrize(
    "text",
    [
        "<b>b</b> <i>i</i> <u>u</u> <s>s</s> <a href='https://example.com'>a</a> <code>c</code> <pre>p</pre>",
        '<span class="tg-spoiler">spoiler</span> <blockquote expandable>q</blockquote> &lt;3 &amp; &#128512;',
        "<b>" + "x" * 4096 + "</b>",  # the tags do not count
    ],
)
def test_messages_telegram_takes_are_sent(client, fake_api, text):
    client.send_message(CHAT, text)
    assert fake_api.calls_of("sendMessage")[-1].status == 200


def test_captions_over_1024_characters_are_refused(client):
    assert "caption is too long" in refused(lambda: client.send_document(CHAT, "file-id", caption="x" * 1025))
    client.send_document(CHAT, "file-id", caption="<b>" + "x" * 1024 + "</b>")


def test_button_data_over_64_bytes_is_refused(client):
    def send_with(data: str):
        markup = InlineKeyboardMarkup()
        markup.row(InlineKeyboardButton("Press", callback_data=data))
        client.send_message(CHAT, "Choose", reply_markup=markup)

    assert refused(lambda: send_with("é" * 33)) == "Bad Request: BUTTON_DATA_INVALID"  # 66 bytes
    send_with("x" * 64)


def test_callback_answers_over_200_characters_are_refused(client):
    assert refused(lambda: client.answer_callback_query("1", "x" * 201)) == "Bad Request: MESSAGE_TOO_LONG"
    client.answer_callback_query("1", "x" * 200)


@pytest.mark.parametrize(
    "changes, reason",
    [
        ({"title": "x" * 33}, "INVOICE_TITLE_INVALID"),
        ({"description": "x" * 256}, "INVOICE_DESCRIPTION_INVALID"),
        ({"invoice_payload": "x" * 129}, "INVOICE_PAYLOAD_INVALID"),
        ({"prices": [LabeledPrice("a", 1), LabeledPrice("b", 1)]}, "STARS_INVOICE_INVALID"),
        ({"prices": [LabeledPrice("a", 0)]}, "INVOICE_PRICES_INVALID"),
        ({"provider_token": "provider-token"}, "STARS_INVOICE_INVALID"),
        ({"currency": "RUB"}, "PAYMENT_PROVIDER_INVALID"),
    ],
)
def test_invoices_outside_telegrams_limits_are_refused(client, changes, reason):
    invoice = {
        "title": "Editor",
        "description": "A licence key",
        "invoice_payload": "signed-payload",
        "provider_token": "",
        "currency": "XTR",
        "prices": [LabeledPrice("Editor", 50)],
        **changes,
    }
    assert reason in refused(lambda: client.send_invoice(CHAT, **invoice))


def test_a_stars_invoice_within_the_limits_is_sent(client, fake_api):
    client.send_invoice(CHAT, "x" * 32, "y" * 255, "z" * 128, provider_token="", currency="XTR", prices=[LabeledPrice("x", 1)])
    assert fake_api.calls_of("sendInvoice")[-1].status == 200


# --- copyMessage and forwardMessage: only what is really in the chat ---


def test_copy_message_copies_what_the_user_sent(client, fake_api):
    user = updates.tg_user(CHAT)
    sent = fake_api.push(updates.media(user, "photo", "PHOTO-1", caption="The error"))["message"]

    copy = client.copy_message(777, CHAT, sent["message_id"])

    copied = fake_api.message(777, copy.message_id)
    assert copied["photo"] == sent["photo"] and copied["caption"] == "The error"
    assert copied["chat"]["id"] == 777 and copied["from"]["is_bot"] is True  # the bot's message, not the user's
    assert fake_api.calls_of("copyMessage")[-1].result == {"message_id": copy.message_id}


def test_copy_message_refuses_a_message_that_is_not_there(client, fake_api):
    fake_api.push(updates.message(updates.tg_user(CHAT), "hello"))

    assert refused(lambda: client.copy_message(777, CHAT, 99999)) == "Bad Request: message to copy not found"
    assert refused(lambda: client.copy_message(777, 43, 99999)) == "Bad Request: message to copy not found"


def test_copy_message_refuses_a_payment(client, fake_api):
    payment = updates.successful_payment(updates.tg_user(CHAT), "payload", total_amount=5, charge_id="c-1")
    fake_api.push(payment)

    assert refused(lambda: client.copy_message(777, CHAT, payment["message"]["message_id"])) == (
        "Bad Request: message can't be copied"
    )


def test_copy_message_refuses_a_caption_telegram_would(client, fake_api):
    sent = fake_api.push(updates.media(updates.tg_user(CHAT), "document"))["message"]

    assert "caption is too long" in refused(lambda: client.copy_message(777, CHAT, sent["message_id"], caption="x" * 1025))


def test_forward_message_names_where_it_came_from(client, fake_api):
    user = updates.tg_user(CHAT)
    sent = fake_api.push(updates.message(user, "hello"))["message"]

    forwarded = client.forward_message(777, CHAT, sent["message_id"])

    assert forwarded.text == "hello"
    assert forwarded.forward_origin.sender_user.id == CHAT
