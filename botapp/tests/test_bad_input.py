"""Random and malformed input: nothing escapes `process_update`, nothing is written or shown that should not be.

Property-based (hypothesis): updates go through `process_update` with a real TeleBot that talks HTTP to
the fake Bot API, and raw bodies go to the webhook view through Django's test client. Each example runs in
a transaction that is rolled back, so every example starts from the same shop:

- Alice owns "alice" (and "retired", now off sale), Bob owns "bob";
- Bob's purchase of "paid" was refunded, Alice's of "off" is held for staff review (neither gives access);
- "paid" and "free" are on sale, "off" is off sale;
- every product's hidden content carries a distinct marker `SECRET-MARKER-<key>-END`.
"""

import json
import uuid
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, event, example, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from botapp import callbacks
from botapp.models import HandledUpdate
from botapp.testing import updates
from botapp.testing.fake_bot_api import BOT_USER, Call, FakeBotAPI
from botapp.testing.helpers import post_update, sent_to
from shop.invoices import InvoiceTerms, invoice_payload, invoice_terms
from shop.models import Product, Purchase, UnmatchedPayment, User
from shop.telegram_html import validate_telegram_html, visible_length
from shop.testing.factories import CategoryFactory, ProductFactory, PurchaseFactory, UserFactory

pytestmark = pytest.mark.django_db

MARKER = "SECRET-MARKER"
ALICE_ID, BOB_ID, ADMIN_ID = 1001, 1002, 9000
SECRET = "s3cret"
TG_MESSAGE_LIMIT = 4096
CALLBACK_ANSWER_LIMIT = 200

PROPERTY = hsettings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# --- the fake, answering malformed requests as Telegram does -------------------------------------


class TelegramLikeFake(FakeBotAPI):
    """Telegram answers 400 to a send whose chat id is no number; the plain fake drops the connection
    (its handler raises), which the bot would take for an unreachable API."""

    def _dispatch(self, method, params):
        try:
            int(params.get("chat_id", 0))
        except (TypeError, ValueError):
            with self._cond:
                self.calls.append(Call(method, params, status=400))
                self._cond.notify_all()
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
        return super()._dispatch(method, params)


@pytest.fixture
def fake_api_class():
    return TelegramLikeFake


@pytest.fixture(autouse=True)
def shop_settings(settings):
    settings.FLOOD_RATE = 0  # flood control has its own tests (test_flood.py)
    settings.SHOP_CURRENCY = "XTR"
    settings.PAYMENT_PROVIDER_TOKEN = ""
    settings.ADMIN_IDS = [ADMIN_ID]  # staff alerts are sent too: they must not carry hidden content either
    settings.TELEGRAM_WEBHOOK_SECRET = SECRET
    settings.DELIVERY_PROTECT_CONTENT = True


# --- the shop every example starts from ----------------------------------------------------------


@dataclass
class Shop:
    products: dict[str, Product]

    @property
    def ids(self) -> list[int]:
        return [p.pk for p in self.products.values()]

    def marker(self, key: str) -> str:
        return f"{MARKER}-{key}-END"


@pytest.fixture
def shop(db):
    category = CategoryFactory(category_name="Keys")
    spec = {  # key: (price, on sale)
        "paid": (50, True),
        "free": (0, True),
        "off": (30, False),
        "alice": (20, True),
        "bob": (40, True),
        "retired": (60, False),
    }
    products = {
        key: ProductFactory(
            category=category,
            name=f"Product {key}",
            description=f"About <b>{key}</b>.",
            price=price,
            is_active=active,
            hidden_content=f"Your key: <code>{MARKER}-{key}-END</code>",
        )
        for key, (price, active) in spec.items()
    }
    alice = UserFactory(telegram_id=ALICE_ID, first_name="Alice", username="alice", language_code="en")
    bob = UserFactory(telegram_id=BOB_ID, first_name="Bob", username="bob", language_code="ru")
    # (payment ids outside "charge-...", which the conversation test counts as its own)
    for user, key in [(alice, "alice"), (alice, "retired"), (bob, "bob")]:
        PurchaseFactory(user=user, product=products[key], payment_id=f"seed-{user.telegram_id}-{key}")
    # purchases that give no access: Bob's "paid" was refunded, Alice's "off" waits for staff review
    PurchaseFactory(
        user=bob,
        product=products["paid"],
        payment_id="seed-refunded",
        status=Purchase.Status.REFUNDED,
        refunded_at=timezone.now(),
    )
    PurchaseFactory(
        user=alice,
        product=products["off"],
        price=1,
        payment_id="seed-review",
        review_reason="paid 1, invoice was for 30 XTR",
    )
    return Shop(products)


@contextmanager
def rolled_back():
    """One example's writes, undone afterwards: the next example sees the same shop."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def owns(telegram_id: int, product: Product) -> bool:
    return Purchase.objects.filter(
        user__telegram_id=telegram_id, product=product, status=Purchase.Status.PAID, review_reason=""
    ).exists()


# --- what every call to the Bot API must satisfy ---------------------------------------------------


def check_calls(fake_api, shop: Shop, after: int, sender_id) -> list:
    """Calls made since `after`: hidden content only to its owner's own chat, and nothing Telegram would refuse."""
    calls = fake_api.calls[after:]
    for call in calls:
        blob = json.dumps(call.params, default=str)
        for key, product in shop.products.items():
            if shop.marker(key) in blob:
                assert call.params.get("chat_id") == str(sender_id), f"hidden content of {key!r} sent to another chat: {call}"
                assert owns(sender_id, product), f"hidden content of {key!r} sent to {sender_id}, who does not own it: {call}"
        if call.method in ("sendMessage", "editMessageText"):
            text = call.params.get("text", "")
            assert text.strip(), f"empty message: {call}"
            assert visible_length(text) <= TG_MESSAGE_LIMIT, f"message longer than Telegram allows: {call}"
            try:
                validate_telegram_html(text)
            except ValidationError as exc:  # Telegram refuses the whole message
                raise AssertionError(f"malformed HTML sent ({exc.messages}): {text!r}") from None
        if call.method == "answerCallbackQuery":
            assert len(call.params.get("text", "")) <= CALLBACK_ANSWER_LIMIT
        if call.method == "answerPreCheckoutQuery" and call.params.get("ok") != "True":
            assert call.params.get("error_message"), f"refused pre-checkout without a reason: {call}"
        for row in (call.json("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None:
                    assert len(data.encode()) <= 64, f"button data over 64 bytes: {data!r}"
                    assert callbacks.parse(data) is not None, f"the bot sent a button it cannot parse: {data!r}"
    return calls


# --- strategies ----------------------------------------------------------------------------------

WEIRD = [
    "\u200b",  # zero-width space
    "\u200d",  # zero-width joiner
    "\u200f",  # right-to-left mark
    "\u202e",  # right-to-left override
    "\ufeff",  # BOM
    "\x00",
    "👨‍👩‍👧‍👦",
    "🏳️‍🌈",
    "مرحبا بالعالم",
    "שלום",
    "<b>",
    "</a>",
    "&amp",
    "&",
    "<",
    "%00",
    "\r\n",
    "'; DROP TABLE shop_user; --",
    "{0}{1}%s%(name)s",
]
piece = st.one_of(st.text(max_size=40), st.sampled_from(WEIRD))
COMMANDS = [
    "/start",
    "/start ",
    "/start p",
    "/start p0",
    "/start p1",
    "/start p99999999999999999",
    "/start p9999999999999999999999",
    "/start@shop_bot",
    "/start@other_bot p1",
    "/catalog",
    "/purchases",
    "/help",
    "/terms",
    "/paysupport",
    "/unknown",
    "/",
    "//start",
    "/START",
]


@st.composite
def huge_texts(draw):
    """Up to 10 000 characters of any unicode (no surrogates): a piece repeated, mixed with odd characters."""
    head = draw(st.one_of(st.just(""), st.sampled_from(COMMANDS).map(lambda c: c + " ")))
    body = "".join(draw(st.lists(piece, max_size=6)))
    times = draw(st.sampled_from([1, 1, 2, 10, 100, 1000, 10_000]))
    text = (head + body * times)[:10_000]
    return text or draw(st.sampled_from(COMMANDS))


texts_ = st.one_of(st.sampled_from(COMMANDS), piece.filter(bool), huge_texts())

EDGE_IDS = [0, -1, -(2**63), 2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64, 10**19, 10**40]

names = st.text(min_size=0, max_size=64)


@st.composite
def tg_users(draw, ids=None):
    user_id = draw(ids if ids is not None else st.sampled_from([ALICE_ID, BOB_ID]) | st.integers(2000, 2**52))
    return {
        "id": user_id,
        "is_bot": False,
        "first_name": draw(names),
        **({"last_name": draw(names)} if draw(st.booleans()) else {}),
        **({"username": draw(st.from_regex(r"[A-Za-z0-9_]{0,32}", fullmatch=True))} if draw(st.booleans()) else {}),
        **(
            {"language_code": draw(st.sampled_from(["en", "ru", "ru-RU", "uk", "", "zz", "x" * 40]))}
            if draw(st.booleans())
            else {}
        ),
    }


senders = tg_users()


def group_chat(kind: str, chat_id: int) -> dict:
    chat = {"id": chat_id, "type": kind, "title": "Some group"}
    if kind == "channel":
        chat["username"] = "somechannel"
    return chat


@st.composite
def callback_data(draw, ids):
    """Forged, binary-ish, over-long, out-of-range and genuine button data."""
    some_id = st.one_of(st.sampled_from(ids), st.sampled_from(EDGE_IDS), st.integers(-(2**70), 2**70))
    number = st.one_of(
        some_id.map(str), st.sampled_from(["", "01", "+1", "1.0", "1e3", "٣", "１", " 1", "1 ", "0x1", "1_0", "-0"])
    )
    tail = st.sampled_from(["", ":1", ":x", ":c1.1", ":m1", ":c0.0", ":c1.0", ":1:1", "\n", ":m" + "9" * 19])
    structured = st.builds(
        lambda action, n, rest: f"{action}:{n}{rest}",
        st.sampled_from(["buy", "open", "prod", "cat", "cats", "my", "menu", "noop", "x"]),
        number,
        tail,
    )
    real_id = st.sampled_from(ids)
    back = st.one_of(
        st.just(callbacks.CATALOG_BACK),
        st.builds(callbacks.Back, st.just("category"), st.integers(1, 2**63 - 1), st.integers(1, 2**63 - 1)),
        st.builds(lambda p: callbacks.Back("purchases", page=p), st.integers(1, 2**63 - 1)),
    )
    genuine = st.one_of(
        real_id.map(callbacks.buy),
        real_id.map(callbacks.open_),
        st.builds(callbacks.product, real_id, back),
        st.builds(callbacks.category, st.integers(1, 2**63 - 1), st.integers(1, 2**63 - 1)),
        st.integers(1, 2**63 - 1).map(callbacks.catalog),
        st.integers(1, 2**63 - 1).map(callbacks.purchases),
        st.sampled_from([callbacks.menu(), callbacks.help_(), callbacks.noop()]),
    )
    return draw(
        st.one_of(
            genuine,
            structured,
            st.text(max_size=80),
            st.binary(max_size=80).map(lambda b: b.decode("latin-1")),
            st.tuples(genuine, st.text(min_size=1, max_size=80)).map("".join),
            st.text(min_size=65, max_size=200),
            genuine.map(lambda d: d + " " * 64),
            genuine.map(lambda d: d + "\x00"),
        )
    )


# --- private text messages ------------------------------------------------------------------------


@PROPERTY
@given(sender=senders, text=texts_, data=st.data())
def test_a_private_text_message_always_gets_an_answer_and_never_someone_elses_content(send, fake_api, shop, sender, text, data):
    edited = data.draw(st.booleans(), label="also as an edited message")
    with rolled_back():
        mark = fake_api.mark()
        update = updates.message(sender, text)
        assert send(update) is True
        check_calls(fake_api, shop, mark, sender["id"])
        assert sent_to(fake_api, sender["id"], after=mark, method="sendMessage"), f"no answer to {text[:80]!r}"
        if edited:  # telebot has no edited-message handler here: ignored, but must not fail
            update = {"update_id": update["update_id"] + 10**6, "edited_message": {**update["message"], "edit_date": 1}}
            assert send(update) is True
            check_calls(fake_api, shop, mark, sender["id"])


# --- buttons ---------------------------------------------------------------------------------------


@PROPERTY
@given(sender=senders, data=st.data())
def test_every_button_press_is_answered_exactly_once_and_shows_only_what_the_sender_may_see(send, fake_api, shop, sender, data):
    payload = data.draw(st.one_of(st.none(), callback_data(shop.ids)), label="callback data")
    where = data.draw(st.sampled_from(["private", "none", "inaccessible", "group", "someone else's chat"]), label="message")
    query_id = str(uuid.uuid4())
    query = {"id": query_id, "from": sender, "chat_instance": "ci"}
    if payload is not None:
        query["data"] = payload
    else:
        query["game_short_name"] = "game"
    chat = {
        "private": updates.private_chat(sender) if sender["first_name"] else {"id": sender["id"], "type": "private"},
        "group": group_chat("supergroup", -1001234567890),
        "someone else's chat": {"id": BOB_ID if sender["id"] != BOB_ID else ALICE_ID, "type": "private"},
        "inaccessible": {"id": sender["id"], "type": "private"},
    }.get(where)
    if chat is not None:
        query["message"] = {
            "message_id": 77,
            "from": BOT_USER,
            "chat": chat,
            "date": 0 if where == "inaccessible" else 1_700_000_000,
            **({} if where == "inaccessible" else {"text": "…"}),
        }
    with rolled_back():
        owned_before = {key for key, p in shop.products.items() if owns(sender["id"], p)}
        purchases_before = Purchase.objects.count()
        mark = fake_api.mark()
        assert send({"update_id": 1, "callback_query": query}) is True
        calls = check_calls(fake_api, shop, mark, sender["id"])
        answers = [c for c in calls if c.method == "answerCallbackQuery"]
        assert [c.params["callback_query_id"] for c in answers] == [query_id], f"{payload!r}: answers {answers}"
        # the only purchase a button can make is a free product on sale
        new = Purchase.objects.count() - purchases_before
        if new:
            assert new == 1
            purchase = Purchase.objects.latest("id")
            assert purchase.product == shop.products["free"] and purchase.price == 0
            assert purchase.user.telegram_id == sender["id"]
            assert payload == callbacks.buy(shop.products["free"].pk)
        owned_after = {key for key, p in shop.products.items() if owns(sender["id"], p)}
        assert owned_after - owned_before <= {"free"}
        # no invoice for something off sale, owned or free, nor to anyone but the presser
        for invoice in [c for c in calls if c.method == "sendInvoice"]:
            assert invoice.params["chat_id"] == str(sender["id"])
            terms = invoice_terms(invoice.params["payload"])
            product = Product.objects.get(pk=terms.product_id)
            assert terms.telegram_id == sender["id"] and terms.price == product.price > 0
            assert product.is_active and not owns(sender["id"], product)


# --- groups, channels, odd update kinds, missing fields ---------------------------------------------


@st.composite
def not_for_the_shop(draw):
    """Updates the shop must ignore quietly: group and channel posts, edits, kinds it does not handle."""
    user = draw(senders)
    text = draw(texts_)
    kind = draw(st.sampled_from(["group", "supergroup", "channel"]))
    chat = group_chat(kind, draw(st.integers(-(10**13), -1)))
    base = {"message_id": draw(st.integers(1, 2**31)), "date": 1_700_000_000, "chat": chat}
    if kind != "channel":
        base["from"] = user
    message = {**base, "text": text}
    choice = draw(
        st.sampled_from(
            [
                "message",
                "edited_message",
                "channel_post",
                "edited_channel_post",
                "member joined",
                "bot added to group",
                "bot removed from group",
                "unknown kind",
                "update_id only",
                "inline_query",
                "poll",
                "chat_join_request",
            ]
        )
    )
    if choice == "message":
        return {"message": message}
    if choice == "edited_message":
        return {"edited_message": {**message, "edit_date": 1_700_000_001}}
    if choice in ("channel_post", "edited_channel_post"):
        return {choice: {**base, "chat": group_chat("channel", chat["id"]), "text": text}}
    if choice == "member joined":
        return {"message": {**base, "new_chat_members": [user]}}
    if choice in ("bot added to group", "bot removed from group"):
        added = choice == "bot added to group"
        return {
            "my_chat_member": {
                "chat": group_chat(kind if kind != "channel" else "supergroup", chat["id"]),
                "from": user,
                "date": 1_700_000_000,
                "old_chat_member": {"user": BOT_USER, "status": "left" if added else "member"},
                "new_chat_member": {"user": BOT_USER, "status": "member" if added else "kicked"},
            }
        }
    if choice == "unknown kind":
        return {draw(st.sampled_from(["future_update", "some_new_kind", "x"])): {"from": user, "text": text}}
    if choice == "inline_query":
        return {"inline_query": {"id": "iq1", "from": user, "query": text[:256], "offset": ""}}
    if choice == "poll":
        return {
            "poll": {
                "id": "p1",
                "question": text[:300] or "?",
                "options": [{"persistent_id": "o1", "text": "a", "voter_count": 1}],
                "total_voter_count": 1,
                "is_closed": False,
                "is_anonymous": True,
                "type": "regular",
                "allows_multiple_answers": False,
            }
        }
    if choice == "chat_join_request":
        return {
            "chat_join_request": {
                "chat": chat,
                "from": user,
                "user_chat_id": user["id"],
                "date": 1_700_000_000,
            }
        }
    return {}


@PROPERTY
@given(update=not_for_the_shop())
def test_group_and_channel_posts_and_unknown_kinds_are_ignored_without_writes(send, fake_api, shop, update):
    with rolled_back():
        counts = (User.objects.count(), Purchase.objects.count(), UnmatchedPayment.objects.count())
        mark = fake_api.mark()
        assert send({"update_id": 5, **update}) is True
        assert (User.objects.count(), Purchase.objects.count(), UnmatchedPayment.objects.count()) == counts
        calls = check_calls(fake_api, shop, mark, None)
        # An inline query is answered wherever it was typed: with public cards only (check_calls: no hidden content).
        assert [c for c in calls if c.method not in ("getMe", "answerInlineQuery")] == [], "the shop spoke in a group or channel"


@st.composite
def incomplete_updates(draw):
    """Private updates with optional fields left out (Update.de_json accepts them)."""
    user = draw(senders)
    chat = {"id": user["id"], "type": "private"}
    choice = draw(
        st.sampled_from(
            [
                "message without from",
                "message without text",
                "message with only a location",
                "message with empty text",
                "callback without message or data",
                "callback without data",
                "callback without message",
                "my_chat_member private",
                "successful payment without from",
                "refunded payment of nothing",
            ]
        )
    )
    message = {"message_id": 10, "date": 1_700_000_000, "chat": chat}
    if choice == "message without from":
        return {"message": {**message, "text": draw(texts_)}}
    if choice == "message without text":
        return {"message": {**message, "from": user}}
    if choice == "message with only a location":
        return {"message": {**message, "from": user, "location": {"latitude": 1.5, "longitude": 2.5}}}
    if choice == "message with empty text":
        return {"message": {**message, "from": user, "text": ""}}
    if choice.startswith("callback"):
        query = {"id": str(uuid.uuid4()), "from": user, "chat_instance": "ci"}
        if choice == "callback without message":
            query["data"] = draw(callback_data([10**9]))  # no such product: nothing to buy
        if choice == "callback without data":
            query["message"] = {**message, "from": BOT_USER, "text": "…"}
        return {"callback_query": query}
    if choice == "my_chat_member private":
        status = draw(st.sampled_from(["kicked", "member", "left"]))
        return {
            "my_chat_member": {
                "chat": chat,
                "from": user,
                "date": 1_700_000_000,
                "old_chat_member": {"user": BOT_USER, "status": "member"},
                "new_chat_member": {"user": BOT_USER, "status": status},
            }
        }
    if choice == "successful payment without from":
        payment = {
            "currency": "XTR",
            "total_amount": 50,
            "invoice_payload": draw(st.text(max_size=40)),
            "telegram_payment_charge_id": f"nofrom-{uuid.uuid4().hex}",
            "provider_payment_charge_id": "",
        }
        return {"message": {**message, "successful_payment": payment}}
    return {
        "message": {
            **message,
            "from": user,
            "refunded_payment": {
                "currency": "XTR",
                "total_amount": 50,
                "invoice_payload": "x",
                "telegram_payment_charge_id": draw(st.text(min_size=1, max_size=40)),
            },
        }
    }


@PROPERTY
@given(update=incomplete_updates())
def test_updates_with_missing_fields_never_fail_and_never_write_purchases(send, fake_api, shop, update):
    with rolled_back():
        purchases = Purchase.objects.count()
        mark = fake_api.mark()
        sender = update.get("message") or update.get("callback_query") or update.get("my_chat_member")
        sender_id = (sender.get("from") or {}).get("id")
        send({"update_id": 6, **update})
        assert Purchase.objects.count() == purchases
        calls = check_calls(fake_api, shop, mark, sender_id)
        if "callback_query" in update:
            answers = [c for c in calls if c.method == "answerCallbackQuery"]
            assert [c.params["callback_query_id"] for c in answers] == [update["callback_query"]["id"]]


NULL_FIELDS = {
    "message with chat null": {
        "message": {"message_id": 1, "date": 1_700_000_000, "chat": None, "from": updates.tg_user(4242), "text": "/start"}
    },
    "message with chat null, no text": {"message": {"message_id": 1, "date": 1_700_000_000, "chat": None}},
    "callback with from null": {"callback_query": {"id": "cq-null", "from": None, "chat_instance": "ci", "data": "menu"}},
}


@pytest.mark.parametrize("update", NULL_FIELDS.values(), ids=NULL_FIELDS.keys())
def test_process_update_does_not_raise_when_a_required_object_is_null(send, fake_api, shop, update):
    """Update.de_json accepts `"chat": null` and `"from": null` (it only fails on missing keys). The handler
    fails, as it may; then process_update's own apology fails outside any try (dispatch._apologize calls
    _private_chat_id, which reads `update.message.chat.type` / `update.callback_query.from_user.id`), so
    the exception escapes process_update: the webhook answers 500 and Telegram repeats the update all day."""
    with rolled_back():
        send({"update_id": 9, **update})  # must return True or False, never raise


@PROPERTY
@given(sender=tg_users(ids=st.sampled_from(EDGE_IDS)), text=texts_, payload=callback_data([1, 2]))
def test_out_of_range_sender_ids_do_not_escape(send, fake_api, shop, sender, text, payload):
    """Telegram ids fit in 52 bits; anything else (0, negative, beyond 64 bits) must still not escape."""
    with rolled_back():
        mark = fake_api.mark()
        send(updates.message(sender, text))
        send({"update_id": 8, "callback_query": {"id": "cq", "from": sender, "chat_instance": "ci", "data": payload}})
        check_calls(fake_api, shop, mark, sender["id"])


# --- payments ---------------------------------------------------------------------------------------

PAYLOAD_KINDS = [
    "random text",
    "binary-ish",
    "over 128 bytes",
    "genuine",
    "genuine, altered price in payload",
    "genuine, signature tampered",
    "another user's genuine",
    "genuine, stale price",
    "genuine, off sale",
    "genuine, already owned",
    "genuine, free product",
    "genuine, no such product",
    "genuine, other currency",
]


@st.composite
def payments(draw, shop: Shop, payer_id: int):
    """(payload, currency, total_amount) as a pre_checkout_query or successful_payment would carry them."""
    kind = draw(st.sampled_from(PAYLOAD_KINDS), label="payload kind")
    products = shop.products
    product = products[draw(st.sampled_from(["paid", "bob" if payer_id != BOB_ID else "alice"]))]
    owner = payer_id
    price, currency, product_id = product.price, "XTR", product.pk
    if kind == "random text":
        return draw(st.text(max_size=150)), "XTR", draw(st.integers(1, 10**6))
    if kind == "binary-ish":
        return draw(st.binary(min_size=1, max_size=128).map(lambda b: b.decode("latin-1"))), "XTR", 50
    if kind == "over 128 bytes":
        terms = InvoiceTerms(payer_id, product.pk, product.price, "XTR")
        return invoice_payload(terms) + "x" * draw(st.integers(100, 200)), "XTR", product.price
    if kind == "another user's genuine":
        owner = draw(st.sampled_from([i for i in (ALICE_ID, BOB_ID, 4242) if i != payer_id]))
    elif kind == "genuine, stale price":
        price = product.price + draw(st.sampled_from([-1, 1, 1000]))
    elif kind == "genuine, off sale":
        product = products["off"]
        price, product_id = product.price, product.pk
    elif kind == "genuine, already owned":
        product = products["alice" if payer_id == ALICE_ID else "bob" if payer_id == BOB_ID else "paid"]
        price, product_id = product.price, product.pk
    elif kind == "genuine, free product":
        price, product_id = 0, products["free"].pk
    elif kind == "genuine, no such product":
        product_id = draw(st.sampled_from([0, -1, 10**9, 2**63 - 1]))
    elif kind == "genuine, other currency":
        currency = draw(st.sampled_from(["USD", "RUB", "EUR", "JPY"]))
    payload = invoice_payload(InvoiceTerms(owner, product_id, price, currency))
    if kind == "genuine, altered price in payload":
        body, _, signature = payload.rpartition(":")
        tid, pid, _, *rest = body.split(":")
        payload = ":".join([tid, pid, str(draw(st.integers(0, 49))), *rest, signature])
    elif kind == "genuine, signature tampered":
        position = draw(st.integers(0, len(payload) - 1))
        replacement = draw(st.sampled_from("0123456789abcdefXYZ:-_"))
        payload = payload[:position] + replacement + payload[position + 1 :]
    paid_currency = draw(st.sampled_from([currency, currency, "XTR", "USD"]), label="paid currency")
    total = draw(st.sampled_from([price, price, price + 1, max(price - 1, 1), price * 100 or 1]), label="total")
    return payload, paid_currency, max(total, 1)


def matches(payload: str, payer_id: int, currency: str, total: int) -> bool:
    """Genuine, the payer's own, for an existing product, paid in full in the invoiced currency, not owned yet."""
    terms = invoice_terms(payload)
    if terms is None or terms.telegram_id != payer_id or currency != terms.currency:
        return False
    product = Product.objects.filter(pk=terms.product_id).first()
    if product is None or owns(payer_id, product):
        return False
    exponent = 0 if currency in ("XTR", "JPY") else 2
    return total == terms.price * 10**exponent


@PROPERTY
@given(payer=senders, data=st.data())
def test_pre_checkout_is_answered_once_and_never_records_anything(send, fake_api, shop, payer, data):
    payload, currency, total = data.draw(payments(shop, payer["id"]))
    query_id = f"pcq-{uuid.uuid4().hex}"
    update = updates.pre_checkout(payer, payload, total_amount=total, currency=currency)
    update["pre_checkout_query"]["id"] = query_id
    with rolled_back():
        counts = (Purchase.objects.count(), UnmatchedPayment.objects.count(), User.objects.count())
        mark = fake_api.mark()
        assert send(update) is True
        assert (Purchase.objects.count(), UnmatchedPayment.objects.count(), User.objects.count()) == counts
        calls = check_calls(fake_api, shop, mark, payer["id"])
        answers = [c for c in calls if c.method == "answerPreCheckoutQuery"]
        assert [c.params["pre_checkout_query_id"] for c in answers] == [query_id]
        terms = invoice_terms(payload)
        product = Product.objects.filter(pk=terms.product_id).first() if terms else None
        acceptable = (
            matches(payload, payer["id"], currency, total)
            and product.is_active
            and product.price == terms.price
            and currency == "XTR"
        )
        assert (answers[0].params["ok"] == "True") == acceptable, (payload, currency, total)
        event("accepted" if acceptable else "refused")
        assert not [c for c in calls if c.method not in ("answerPreCheckoutQuery",)], "pre-checkout delivers nothing"


@PROPERTY
@given(payer=senders, data=st.data())
def test_successful_payment_records_exactly_what_it_proves(send, fake_api, shop, payer, data):
    """Forged payloads become an UnmatchedPayment (no Purchase). A genuine payload that does not match the payer
    or the amount is recorded as a Purchase held for staff review (money was taken) that gives no access. Only a
    genuine, matching payment gives access and delivers the hidden content. A repeat records nothing new."""
    payload, currency, total = data.draw(payments(shop, payer["id"]))
    repeat = data.draw(st.booleans(), label="Telegram repeats the update")
    # Telegram's charge ids are plain text; NUL and blank ids are tested on their own below
    charge_id = data.draw(
        st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), min_size=1, max_size=60).filter(
            str.strip
        ),
        label="charge id",
    )
    update = updates.successful_payment(payer, payload, total_amount=total, charge_id=charge_id, currency=currency)
    with rolled_back():
        expect_access = matches(payload, payer["id"], currency, total)
        terms = invoice_terms(payload)
        product = Product.objects.filter(pk=terms.product_id).first() if terms else None
        purchases, unmatched = Purchase.objects.count(), UnmatchedPayment.objects.count()
        mark = fake_api.mark()
        assert send(update) is True
        if repeat:
            assert send({**update, "update_id": update["update_id"] + 10**6}) is True
        check_calls(fake_api, shop, mark, payer["id"])
        new_purchases = Purchase.objects.filter(payment_id=charge_id)
        event("unmatched" if product is None else "access" if expect_access else "held for review")
        if product is None:
            assert Purchase.objects.count() == purchases, "a forged payload made a purchase"
            assert UnmatchedPayment.objects.count() == unmatched + 1
        else:
            assert UnmatchedPayment.objects.count() == unmatched
            assert Purchase.objects.count() == purchases + 1
            (purchase,) = new_purchases
            assert purchase.gives_access == expect_access, (purchase.review_reason, payload, currency, total)
            if not expect_access:
                assert purchase.review_reason
        marker = shop.marker(next(k for k, p in shop.products.items() if p == product)) if product else None
        delivered = sent_to(fake_api, payer["id"], after=mark, method="sendMessage", containing=marker) if marker else []
        assert len(delivered) == (1 if expect_access else 0)
        assert sent_to(fake_api, payer["id"], after=mark, method="sendMessage"), "the payer is told something"


@pytest.mark.parametrize("charge_id", ["", "   ", "\x00", "ch\x00arge", "\ud800"])
def test_payments_with_unstorable_charge_ids_are_kept_for_staff(send, shop, charge_id):
    payer = updates.tg_user(ALICE_ID)
    update = updates.stars_payment(payer, shop.products["paid"], charge_id=charge_id)
    with rolled_back():
        before = Purchase.objects.count() + UnmatchedPayment.objects.count()
        assert send(update) is True
        assert Purchase.objects.count() + UnmatchedPayment.objects.count() == before + 1  # the money is on record


# --- several users, several updates ---------------------------------------------------------------


@st.composite
def steps(draw, shop: Shop):
    """One update of a conversation between the shop and a few users (what one user did can matter to the next)."""
    sender = draw(st.sampled_from([updates.tg_user(ALICE_ID), updates.tg_user(BOB_ID), updates.tg_user(3000, username=None)]))
    kind = draw(st.sampled_from(["text", "button", "button", "pre_checkout", "payment", "payment again"]))
    if kind == "text":
        return kind, sender, updates.message(sender, draw(texts_))
    if kind == "button":
        return kind, sender, updates.callback(sender, draw(callback_data(shop.ids)), with_message=draw(st.booleans()))
    if kind == "payment again":  # Telegram delivers an earlier payment once more (resolved when run)
        return kind, sender, draw(st.integers(0, 7))
    payload, currency, total = draw(payments(shop, sender["id"]))
    if kind == "pre_checkout":
        return kind, sender, updates.pre_checkout(sender, payload, total_amount=total, currency=currency)
    charge = f"charge-{uuid.uuid4().hex}"
    return kind, sender, updates.successful_payment(sender, payload, total_amount=total, charge_id=charge, currency=currency)


@hsettings(PROPERTY, max_examples=60)
@given(data=st.data())
def test_a_random_conversation_never_leaks_or_double_records(send, fake_api, shop, data):
    conversation = data.draw(st.lists(steps(shop), min_size=2, max_size=8), label="conversation")
    payments_sent = []
    with rolled_back():
        for kind, sender, update in conversation:
            if kind == "payment again":
                if not payments_sent:
                    continue
                earlier = payments_sent[update % len(payments_sent)]
                update, sender = {**earlier, "update_id": earlier["update_id"] + 10**6}, earlier["message"]["from"]
            mark = fake_api.mark()
            assert send(update) is True
            calls = check_calls(fake_api, shop, mark, sender["id"])
            if kind == "text":
                assert sent_to(fake_api, sender["id"], after=mark, method="sendMessage")
            elif kind == "button":
                query_id = update["callback_query"]["id"]
                assert [c.params["callback_query_id"] for c in calls if c.method == "answerCallbackQuery"] == [query_id]
            elif kind == "pre_checkout":
                assert len([c for c in calls if c.method == "answerPreCheckoutQuery"]) == 1
            else:
                payments_sent.append(update)
            # every charge recorded exactly once (a Purchase or an UnmatchedPayment), however often it came
            charges = {u["message"]["successful_payment"]["telegram_payment_charge_id"] for u in payments_sent}
            recorded = list(Purchase.objects.filter(payment_id__startswith="charge-").values_list("payment_id", flat=True))
            recorded += list(UnmatchedPayment.objects.values_list("payment_id", flat=True))
            assert sorted(recorded) == sorted(charges)
            # buttons only ever hand out the free product
            for purchase in Purchase.objects.filter(payment_type=Purchase.PaymentType.FREE):
                assert purchase.product == shop.products["free"] and purchase.gives_access


# --- the webhook ------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=25,
)
KINDS = [
    "message",
    "edited_message",
    "callback_query",
    "pre_checkout_query",
    "shipping_query",
    "my_chat_member",
    "chat_member",
    "inline_query",
    "channel_post",
    "edited_channel_post",
    "poll",
    "poll_answer",
    "chat_join_request",
    "message_reaction",
    "business_message",
    "purchased_paid_media",
]


@st.composite
def update_like(draw):
    """Something shaped like an update: an update_id (any JSON) and kinds holding random JSON or near-valid
    objects with fields of the wrong types."""
    body = {}
    if draw(st.integers(0, 9)):
        body["update_id"] = draw(
            st.one_of(
                st.integers(0, 2**40),
                st.integers(0, 2**40),
                st.integers(-(2**65), 2**65),
                json_values,
                st.sampled_from([2**63, 2**63 - 1, -1, "7", 7.5, True]),
            )
        )
    user = draw(
        st.one_of(
            tg_users(), json_values, st.fixed_dictionaries({"id": json_values, "is_bot": json_values, "first_name": json_values})
        )
    )
    chat = draw(
        st.one_of(
            st.fixed_dictionaries(
                {"id": st.integers(-(2**64), 2**64), "type": st.sampled_from(["private", "group", "channel", "x"])}
            ),
            json_values,
        )
    )
    near_valid = st.fixed_dictionaries(
        {
            "message_id": st.integers(-(2**64), 2**64) | json_values,
            "date": st.integers(0, 2**40) | json_values,
            "chat": st.just(chat),
        },
        optional={
            "from": st.just(user),
            "text": texts_ | json_values,
            "successful_payment": st.fixed_dictionaries(
                {
                    "currency": st.sampled_from(["XTR", "USD"]),
                    "total_amount": st.integers(1, 10**6),
                    "invoice_payload": st.text(max_size=50),
                    "telegram_payment_charge_id": st.text(min_size=1, max_size=40),
                },
                optional={"provider_payment_charge_id": st.text(max_size=40)},
            ),
            "entities": json_values,
        },
    )
    callback = st.fixed_dictionaries(
        {"id": st.text(max_size=10) | json_values, "from": st.just(user), "chat_instance": json_values},
        optional={"data": st.text(max_size=80) | json_values, "message": near_valid},
    )
    kinds = draw(
        st.one_of(st.just(["message"]), st.just(["callback_query"]), st.lists(st.sampled_from(KINDS), max_size=2, unique=True))
    )
    for kind in kinds:
        if kind in ("message", "edited_message", "channel_post"):
            body[kind] = draw(st.one_of(near_valid, json_values))
        elif kind == "callback_query":
            body[kind] = draw(st.one_of(callback, json_values))
        else:
            body[kind] = draw(json_values)
    for _ in range(draw(st.integers(0, 2))):
        body[draw(st.text(max_size=12))] = draw(json_values)
    return body


bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    update_like().map(lambda v: json.dumps(v).encode()),
    st.text(max_size=200).map(lambda s: s.encode("utf-8", "surrogatepass")),
)


@PROPERTY
@given(body=bodies)
# shapes the search has found before (see the dedicated tests below and above), kept so every run tries them
@example(body=b'{"update_id": 1, "message": {"message_id": 0, "date": 0, "chat": null}}')
@example(  # a button under chat 0: telebot leaves chat_id out of the edit, Telegram answers 400
    body=b'{"update_id": 3, "callback_query": {"id": "", "from": {"id": 1, "is_bot": false, "first_name": ""}, '
    b'"chat_instance": null, "message": {"message_id": 0, "date": 1, "chat": {"id": 0, "type": ""}}}}'
)
@example(
    body=b'{"update_id": 2, "message": {"message_id": 0, "date": 0, "chat": {"id": 5, "type": "private"}, '
    b'"successful_payment": {"currency": "XTR", "total_amount": 1, "invoice_payload": "", "telegram_payment_charge_id": "0"}}}'
)
@example(  # a payer without an id: Telegram never sends one, and repeating it would never help
    body=b'{"update_id":0,"message":{"message_id":0,"date":0,"chat":{"id":0,"type":""},'
    b'"from":{"id":null,"is_bot":null,"first_name":null},'
    b'"successful_payment":{"currency":"","total_amount":1,"invoice_payload":"","":""}}}'
)
@example(body=b'{"update_id":0,"message":{"message_id":0,"date":0,"chat":{}},"":{"":Infinity}}')  # not JSON
@example(  # a payment message without its chat: set aside for staff, not retried for a day
    body=b'{"update_id":0,"message":{"message_id":0,"date":0,"chat":null,"from":{"id":1,"is_bot":false,'
    b'"first_name":""},"successful_payment":{"currency":"","total_amount":1,"invoice_payload":"","":""}}}'
)
@example(  # NUL in an update telebot cannot read: PostgreSQL keeps no NUL in JSON
    body=b'{"update_id":0,"message":{"message_id":0,"date":0,"chat":{"id":0,"type":""},"":"\\u0000","entities":null}}'
)
def test_webhook_answers_any_body_without_a_server_error(client, fake_api, shop, body):
    with rolled_back():
        purchases = Purchase.objects.count()
        response = post_update(client, raw=body)  # the test client re-raises anything the view lets escape
        event(f"status {response.status_code}")
        assert response.status_code in (200, 400, 403), (response.status_code, body[:300])
        if response.status_code == 400:
            assert not HandledUpdate.objects.exists()
        assert Purchase.objects.count() == purchases
        check_calls(fake_api, shop, 0, None)


@pytest.mark.parametrize("sender", [None, {"id": 42}], ids=["no from", "from without its required fields"])
def test_webhook_payment_message_with_a_broken_sender_is_refused_not_retried_forever(client, fake_api, shop, sender):
    """A successful_payment in a private chat whose `from` is missing can never be handled: on_successful_payment
    fails on `None.id` every time. It must not be answered 500, which makes Telegram retry it for a day (and
    makes the poller, which never gives up a payment, retry it forever and stall every later update)."""
    message = {
        "message_id": 1,
        "date": 1_700_000_000,
        "chat": {"id": 4242, "type": "private"},
        "successful_payment": {
            "currency": "XTR",
            "total_amount": 50,
            "invoice_payload": "forged",
            "telegram_payment_charge_id": "charge-without-sender",
        },
    }
    if sender is not None:
        message["from"] = sender
    response = post_update(client, {"update_id": 77, "message": message})
    assert response.status_code in (200, 400)


@PROPERTY
@given(secret=st.one_of(st.none(), st.text(max_size=20)), body=bodies)
def test_webhook_without_the_secret_is_forbidden_whatever_the_body(client, fake_api, shop, secret, body):
    with rolled_back():
        mark = fake_api.mark()
        response = post_update(client, raw=body, secret=secret)
        if secret != SECRET:
            assert response.status_code == 403
            assert fake_api.calls[mark:] == []
            assert not HandledUpdate.objects.exists()
