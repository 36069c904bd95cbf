"""The fake Bot API's answerInlineQuery refuses what Telegram refuses: an unknown or already answered query,
more than 50 results, result ids duplicated or outside 1-64 bytes, an article without its title or message,
a message Telegram could not send, an offset over 64 bytes."""

import pytest
from telebot.apihelper import ApiTelegramException
from telebot.types import InlineKeyboardButton, InlineKeyboardMarkup, InlineQueryResultArticle, InputTextMessageContent

from botapp.telegram.client import new_client
from botapp.testing import updates


@pytest.fixture
def client(fake_api):
    return new_client()


@pytest.fixture
def query_id(fake_api):
    """An inline query Telegram sent the bot, not answered yet."""
    update = updates.inline_query(updates.tg_user(42), "keys")
    fake_api.note(update)
    return update["inline_query"]["id"]


def article(result_id="p1", *, title="Key", text="<b>Key</b>", parse_mode="HTML", **extra) -> InlineQueryResultArticle:
    return InlineQueryResultArticle(result_id, title, InputTextMessageContent(text, parse_mode=parse_mode), **extra)


def refused(call) -> str:
    with pytest.raises(ApiTelegramException) as caught:
        call()
    assert caught.value.error_code == 400
    return caught.value.description


def test_a_valid_answer_is_taken_once(client, fake_api, query_id):
    link = InlineKeyboardMarkup()
    link.row(InlineKeyboardButton("Open", url="https://t.me/shop_bot?start=p1"))
    results = [article("p1", reply_markup=link, description="⭐ 10"), article("p2", thumbnail_url="https://example.com/t.jpg")]

    assert client.answer_inline_query(query_id, results, cache_time=60, is_personal=False, next_offset="20") is True
    assert "query ID is invalid" in refused(lambda: client.answer_inline_query(query_id, results))


def test_an_unknown_query_is_refused(client):
    assert "query ID is invalid" in refused(lambda: client.answer_inline_query("12345", [article()]))


def test_an_empty_answer_is_taken(client, query_id):
    assert client.answer_inline_query(query_id, [], next_offset="") is True


@pytest.mark.parametrize(
    ("results", "reason"),
    [
        ([article(f"p{n}") for n in range(51)], "RESULTS_TOO_MUCH"),
        ([article("p1"), article("p1")], "RESULT_ID_DUPLICATE"),
        ([article("x" * 65)], "RESULT_ID_INVALID"),
        ([article("ж" * 33)], "RESULT_ID_INVALID"),  # 66 bytes
        ([article(title="")], "ARTICLE_TITLE_EMPTY"),
        ([article(text="<b>broken")], "can't parse entities"),
        ([article(text="x" * 4097)], "message text is too long"),
        ([article(text="   ")], "message text is empty"),
        ([article(thumbnail_url="not a url")], "THUMBNAIL_URL_INVALID"),
    ],
    ids=["51 results", "duplicate ids", "long id", "long id in bytes", "no title", "broken html", "long text", "empty", "thumb"],
)
def test_answers_telegram_would_refuse_get_400(client, fake_api, query_id, results, reason):
    assert reason in refused(lambda: client.answer_inline_query(query_id, results))
    assert fake_api.calls_of("answerInlineQuery")[-1].status == 400


def test_an_article_without_a_message_is_refused(client, fake_api, query_id):
    result = article()
    result.input_message_content = None
    assert "SEND_MESSAGE_MEDIA_INVALID" in refused(lambda: client.answer_inline_query(query_id, [result]))


def test_a_button_with_data_over_64_bytes_or_a_bad_url_is_refused(client, query_id):
    long_data = InlineKeyboardMarkup()
    long_data.row(InlineKeyboardButton("Go", callback_data="x" * 65))
    bad_url = InlineKeyboardMarkup()
    bad_url.row(InlineKeyboardButton("Go", url="javascript:alert(1)"))

    assert "BUTTON_DATA_INVALID" in refused(lambda: client.answer_inline_query(query_id, [article(reply_markup=long_data)]))
    assert "BUTTON_URL_INVALID" in refused(lambda: client.answer_inline_query(query_id, [article(reply_markup=bad_url)]))


def test_an_offset_over_64_bytes_is_refused(client, query_id):
    assert "NEXT_OFFSET_INVALID" in refused(lambda: client.answer_inline_query(query_id, [article()], next_offset="1" * 65))
