"""What the Bot API refuses with a 400, checked by the fake Bot API as Telegram checks it.

Written apart from the shop's own validation (shop/telegram_html.py), so a test catches a message
that Telegram would reject even when the shop's checks are wrong. Sources: core.telegram.org/bots/api
("Formatting options", sendMessage, sendDocument, copyMessage, answerCallbackQuery, InlineKeyboardButton,
sendInvoice, answerInlineQuery, InlineQueryResultArticle, InputTextMessageContent). Lengths are counted after
the HTML is parsed, in UTF-16 code units, as Telegram counts.
"""

import functools
import html
import json
from html.parser import HTMLParser

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_ANSWER_LIMIT = 200
CALLBACK_DATA_LIMIT = 64  # bytes
INVOICE_TITLE = (1, 32)
INVOICE_DESCRIPTION = (1, 255)
INVOICE_PAYLOAD_BYTES = (1, 128)
INLINE_RESULTS_LIMIT = 50
INLINE_ID_BYTES = (1, 64)  # a result's id; next_offset is at most 64 bytes too
URL_SCHEMES = ("http://", "https://", "tg://")

# Tags of Telegram's HTML and the attributes each may carry.
TAGS = {
    "b": set(),
    "strong": set(),
    "i": set(),
    "em": set(),
    "u": set(),
    "ins": set(),
    "s": set(),
    "strike": set(),
    "del": set(),
    "span": {"class"},
    "tg-spoiler": set(),
    "a": {"href"},
    "tg-emoji": {"emoji-id"},
    "code": {"class"},
    "pre": set(),
    "blockquote": {"expandable"},
}
ENTITIES = {"lt", "gt", "amp", "quot"}


class _TelegramHTML(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=False)
        self.open: list[str] = []
        self.text: list[str] = []
        self.error: str | None = None

    def fail(self, message: str) -> None:
        self.error = self.error or f"Bad Request: can't parse entities: {message}"

    def handle_starttag(self, tag, attrs):
        if tag not in TAGS:
            return self.fail(f'Unsupported start tag "{tag}"')
        unknown = {name for name, _value in attrs} - TAGS[tag]
        if unknown:
            return self.fail(f'Unsupported attribute "{sorted(unknown)[0]}" of tag "{tag}"')
        if tag == "span" and dict(attrs).get("class") != "tg-spoiler":
            return self.fail('Tag "span" must have class "tg-spoiler"')
        if tag == "a" and not dict(attrs).get("href"):
            return self.fail('Tag "a" must have attribute "href"')
        self.open.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.fail(f'Unsupported start tag "{tag}/"')

    def handle_endtag(self, tag):
        if not self.open or self.open[-1] != tag:
            return self.fail(f'Unmatched end tag "{tag}"')
        self.open.pop()

    def handle_data(self, data):
        self.text.append(data)

    def handle_entityref(self, name):
        if name not in ENTITIES:
            return self.fail(f'Unsupported HTML entity "&{name};"')
        self.text.append(html.unescape(f"&{name};"))

    def handle_charref(self, name):
        try:
            self.text.append(chr(int(name[1:], 16) if name[:1] in "xX" else int(name)))
        except (ValueError, OverflowError):
            self.fail(f'Invalid character reference "&#{name};"')

    def handle_comment(self, data):
        self.fail("Unsupported comment")

    def handle_decl(self, decl):
        self.fail("Unsupported declaration")

    def unknown_decl(self, data):
        self.fail("Unsupported declaration")


@functools.lru_cache(maxsize=4096)
def visible_text(text: str, parse_mode: str | None) -> tuple[str, str | None]:
    """The text as the user sees it, and the reason Telegram refuses its markup (None if it does not).

    Remembered: a bot sends the same screens again and again, and parsing them is the fake's costliest
    check (the bench's load generator runs it on every message)."""
    if parse_mode != "HTML":
        return text, None
    parser = _TelegramHTML()
    parser.feed(text)
    parser.close()
    if parser.error is None and parser.open:
        parser.fail(f'Can\'t find end tag corresponding to start tag "{parser.open[-1]}"')
    return "".join(parser.text), parser.error


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _text_refusal(text, parse_mode, *, limit: int, allow_empty: bool, what: str) -> str | None:
    visible, error = visible_text(text or "", parse_mode)
    if error:
        return error
    if not visible.strip() and not allow_empty:
        return f"Bad Request: {what} is empty"
    if utf16_length(visible) > limit:
        return f"Bad Request: {what} is too long"
    return None


def _markup_refusal(markup) -> str | None:
    if not markup:
        return None
    if isinstance(markup, str):
        return _markup_text_refusal(markup)
    return _keyboard_refusal(markup)


@functools.lru_cache(maxsize=4096)
def _markup_text_refusal(markup: str) -> str | None:
    """A keyboard sent as JSON text (as bots send it), checked once per distinct keyboard."""
    return _keyboard_refusal(json.loads(markup))


def _keyboard_refusal(markup: dict) -> str | None:
    keyboard = markup.get("inline_keyboard", [])
    for row in keyboard:
        for button in row:
            if not button.get("text"):
                return "Bad Request: text buttons are unallowed in the inline keyboard"
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode()) <= CALLBACK_DATA_LIMIT:
                return "Bad Request: BUTTON_DATA_INVALID"
    return None


def _invoice_refusal(params: dict) -> str | None:
    title, description, payload = params.get("title", ""), params.get("description", ""), params.get("payload", "")
    if not INVOICE_TITLE[0] <= len(title) <= INVOICE_TITLE[1]:
        return "Bad Request: INVOICE_TITLE_INVALID" if title else "Bad Request: title is empty"
    if not INVOICE_DESCRIPTION[0] <= len(description) <= INVOICE_DESCRIPTION[1]:
        return "Bad Request: INVOICE_DESCRIPTION_INVALID"
    if not INVOICE_PAYLOAD_BYTES[0] <= len(payload.encode()) <= INVOICE_PAYLOAD_BYTES[1]:
        return "Bad Request: INVOICE_PAYLOAD_INVALID"
    prices = json.loads(params.get("prices") or "[]")
    if not prices or any(not isinstance(p.get("amount"), int) or p["amount"] <= 0 for p in prices):
        return "Bad Request: INVOICE_PRICES_INVALID"
    if params.get("currency") == "XTR" and (len(prices) != 1 or params.get("provider_token")):
        return "Bad Request: STARS_INVOICE_INVALID"
    if params.get("currency") != "XTR" and not params.get("provider_token"):
        return "Bad Request: PAYMENT_PROVIDER_INVALID"
    return None


INPUT_MEDIA_TYPES = ("photo", "video", "animation", "audio", "document")


def _media_refusal(media) -> str | None:
    """editMessageMedia's InputMedia: a known type, a file, and a caption within its limits."""
    try:
        media = json.loads(media) if isinstance(media, str) else media
    except ValueError:
        media = None
    if not isinstance(media, dict) or media.get("type") not in INPUT_MEDIA_TYPES or not media.get("media"):
        return "Bad Request: can't parse InputMedia: media not found"
    return _text_refusal(media.get("caption"), media.get("parse_mode"), limit=CAPTION_LIMIT, allow_empty=True, what="caption")


def _inline_result_refusal(result: dict) -> str | None:
    """One InlineQueryResultArticle (the only kind the shop sends; others are refused here so a test notices)."""
    if result.get("type") != "article":
        return "Bad Request: RESULT_TYPE_INVALID"
    if not result.get("title"):
        return "Bad Request: ARTICLE_TITLE_EMPTY"
    content = result.get("input_message_content")
    if not isinstance(content, dict) or "message_text" not in content:
        return "Bad Request: SEND_MESSAGE_MEDIA_INVALID"
    text_error = _text_refusal(
        content["message_text"], content.get("parse_mode"), limit=TEXT_LIMIT, allow_empty=False, what="message text"
    )
    if text_error:
        return text_error
    for key in ("url", "thumbnail_url"):
        if key in result and not str(result[key]).startswith(URL_SCHEMES):
            return f"Bad Request: {key.upper()}_INVALID"
    markup = result.get("reply_markup")
    for row in (markup or {}).get("inline_keyboard", []):
        for button in row:
            if "url" in button and not str(button["url"]).startswith(URL_SCHEMES):
                return "Bad Request: BUTTON_URL_INVALID"
    return _markup_refusal(markup)


def _inline_answer_refusal(params: dict) -> str | None:
    """answerInlineQuery: at most 50 results, each with its own id of 1-64 bytes, each valid; next_offset at
    most 64 bytes; cache_time a whole number of seconds."""
    try:
        results = json.loads(params.get("results") or "null")
    except ValueError:
        return "Bad Request: can't parse results JSON object"
    if not isinstance(results, list):
        return "Bad Request: results must be an Array"
    if len(results) > INLINE_RESULTS_LIMIT:
        return "Bad Request: RESULTS_TOO_MUCH"
    ids = [str(r.get("id", "")) if isinstance(r, dict) else "" for r in results]
    if any(not INLINE_ID_BYTES[0] <= len(i.encode()) <= INLINE_ID_BYTES[1] for i in ids):
        return "Bad Request: RESULT_ID_INVALID"
    if len(set(ids)) != len(ids):
        return "Bad Request: RESULT_ID_DUPLICATE"
    for result in results:
        error = _inline_result_refusal(result)
        if error:
            return error
    if len(str(params.get("next_offset") or "").encode()) > INLINE_ID_BYTES[1]:
        return "Bad Request: NEXT_OFFSET_INVALID"
    if not str(params.get("cache_time") or "0").isdigit():
        return 'Bad Request: field "cache_time" must be an Integer'
    return None


SUBSCRIPTION_PERIOD = 2592000  # createInvoiceLink's subscription_period: 30 days, the only one allowed
SUBSCRIPTION_STARS_LIMIT = 10000
INVITE_LINK_NAME = 32
INVITE_MEMBER_LIMIT = (1, 99999)


def _invoice_link_refusal(params: dict) -> str | None:
    """createInvoiceLink: sendInvoice's limits, and a subscription's: 30 days, Stars only, at most 10 000."""
    error = _invoice_refusal(params)
    if error or params.get("subscription_period") in (None, ""):
        return error
    if params["subscription_period"] != str(SUBSCRIPTION_PERIOD):
        return "Bad Request: SUBSCRIPTION_PERIOD_INVALID"
    if params.get("currency") != "XTR":
        return "Bad Request: SUBSCRIPTION_CURRENCY_INVALID"
    if json.loads(params["prices"])[0]["amount"] > SUBSCRIPTION_STARS_LIMIT:
        return "Bad Request: SUBSCRIPTION_PRICE_INVALID"
    return None


def _invite_link_refusal(params: dict) -> str | None:
    if len(params.get("name") or "") > INVITE_LINK_NAME:
        return "Bad Request: invite link name is too long"
    limit = params.get("member_limit")
    if limit not in (None, ""):
        if params.get("creates_join_request") == "True":
            return "Bad Request: member limit can't be specified for links requiring administrator approval"
        if not limit.isdigit() or not INVITE_MEMBER_LIMIT[0] <= int(limit) <= INVITE_MEMBER_LIMIT[1]:
            return "Bad Request: wrong member limit specified"
    expire = params.get("expire_date")
    if expire not in (None, "") and not expire.isdigit():
        return "Bad Request: wrong expiration date specified"
    return None


def _star_subscription_refusal(params: dict) -> str | None:
    if params.get("is_canceled") not in ("True", "False", "true", "false"):
        return 'Bad Request: parameter "is_canceled" is required'
    if not params.get("telegram_payment_charge_id"):
        return "Bad Request: CHARGE_ID_EMPTY"
    return None


def refusal(method: str, params: dict) -> str | None:
    """Telegram's description of why it answers 400 to this call, or None if it takes it."""
    parse_mode = params.get("parse_mode")
    error = None
    if method in ("sendMessage", "editMessageText"):
        error = _text_refusal(params.get("text"), parse_mode, limit=TEXT_LIMIT, allow_empty=False, what="message text")
    elif method in ("sendDocument", "sendPhoto", "sendVideo", "sendAudio", "sendAnimation", "sendVoice", "copyMessage"):
        error = _text_refusal(params.get("caption"), parse_mode, limit=CAPTION_LIMIT, allow_empty=True, what="caption")
    elif method == "editMessageMedia":
        error = _media_refusal(params.get("media"))
    elif method == "answerCallbackQuery":
        text = params.get("text") or ""
        error = "Bad Request: MESSAGE_TOO_LONG" if utf16_length(text) > CALLBACK_ANSWER_LIMIT else None
    elif method == "sendInvoice":
        error = _invoice_refusal(params)
    elif method == "answerInlineQuery":
        return _inline_answer_refusal(params)
    elif method == "createInvoiceLink":
        error = _invoice_link_refusal(params)
    elif method == "createChatInviteLink":
        error = _invite_link_refusal(params)
    elif method == "editUserStarSubscription":
        error = _star_subscription_refusal(params)
    return error or _markup_refusal(params.get("reply_markup"))
