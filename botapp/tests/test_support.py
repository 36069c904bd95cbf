"""Support that reaches a person: «Write to support», the customer's message to every staff member, a staff
member's reply back to the customer. Through the bot and the fake Bot API, asserting on what was sent."""

import datetime

import pytest
from django.utils import timezone

from botapp import callbacks, flood
from botapp.testing import updates
from botapp.testing.helpers import body, button_data, buttons, only_screen, sent_to
from shop.models import User
from shop.support.models import SupportMessage, SupportWait
from shop.testing.factories import ProductFactory, PurchaseFactory, UserFactory

pytestmark = pytest.mark.django_db

STAFF = [777, 888]
WRITE = "✉️ Write to support"
SEARCHED = "🔍 Nothing found for"  # plain text nobody waits for is a search


@pytest.fixture(autouse=True)
def support_settings(settings):
    settings.SHOP_CURRENCY = "XTR"
    settings.ADMIN_IDS = STAFF
    settings.SHOP_SUPPORT_CONTACT = ""


@pytest.fixture
def kim():
    return updates.tg_user(777, first_name="Kim", username="kim_staff", language_code="en")


@pytest.fixture
def lev():
    return updates.tg_user(888, first_name="Лев", username="lev_staff", language_code="ru")


def write_to_support(press, customer=None) -> None:
    """Press «Write to support» (under the Help screen, message 777)."""
    calls = press(callbacks.support(), **({"user": customer} if customer else {}), message_id=777)
    assert any(c.method == "editMessageText" and "Write to support" in body(c) for c in calls), calls


def copies_to(fake_api, chat_id: int, *, after: int = 0):
    return sent_to(fake_api, chat_id, after=after, method="copyMessage")


def headers_to(fake_api, chat_id: int, *, after: int = 0):
    return sent_to(fake_api, chat_id, after=after, method="sendMessage", containing="To support")


# --- where a person can be reached ---


@pytest.mark.parametrize("text", ["/help", "/paysupport"])
def test_help_and_payment_support_offer_write_to_support(command, text):
    sent = command(text)

    assert buttons(sent)[-2:] == [(WRITE, callbacks.support()), ("« Menu", callbacks.menu())]
    assert "Press «Write to support» below" in sent.params["text"]


def test_help_button_offers_write_to_support_too(press_for_screen):
    screen = press_for_screen(callbacks.help_())

    assert (WRITE, callbacks.support()) in buttons(screen)


def test_the_shops_contact_is_shown_beside_the_button(settings, command):
    settings.SHOP_SUPPORT_CONTACT = "@shop_help"

    sent = command("/help")

    assert "@shop_help" in sent.params["text"]
    assert (WRITE, callbacks.support()) in buttons(sent)


def test_without_staff_help_names_the_contact_instead_of_a_button_that_reaches_nobody(settings, command):
    settings.ADMIN_IDS = []
    settings.SHOP_SUPPORT_CONTACT = "@shop_help"

    help_screen = command("/help")
    paysupport = command("/paysupport")

    assert "Write to @shop_help" in help_screen.params["text"]
    assert paysupport.params["text"].count("@shop_help") == 1  # the built-in text names it already
    for screen in (help_screen, paysupport):
        assert buttons(screen) == [("« Menu", callbacks.menu())]


def test_without_staff_an_old_write_to_support_button_says_where_help_is(settings, press):
    settings.ADMIN_IDS = []
    settings.SHOP_SUPPORT_CONTACT = "support@example.com"

    calls = press(callbacks.support())

    assert [c.params.get("text") for c in calls] == ["Support is not available in this chat. Write to support@example.com."]
    assert not SupportWait.objects.exists()


def test_terms_offer_no_support_button(command):
    assert buttons(command("/terms")) == [("« Menu", callbacks.menu())]


# --- the customer writes ---


def test_customers_message_reaches_every_staff_member_with_who_wrote_and_what_they_bought(
    send, press, fake_api, customer, product
):
    ann = UserFactory(telegram_id=42, username="ann", first_name="Ann")
    purchase = PurchaseFactory(user=ann, product=product, delivered_at=timezone.now())
    PurchaseFactory.create(user=ann, product=ProductFactory(name="Old guide", price=0), refunded=True)
    type(purchase).objects.filter(pk=purchase.pk).update(created_at=datetime.datetime(2026, 12, 2, 9, tzinfo=datetime.UTC))
    write_to_support(press)
    mark = fake_api.mark()

    question = updates.message(customer, "My key does not work")
    send(question)

    for staff_id in STAFF:
        [header] = headers_to(fake_api, staff_id, after=mark)
        assert "Ann (@ann, <code>42</code>)" in header.params["text"]
        assert "• Editor Pro — ⭐ 50 — 2 Dec 2026\n" in header.params["text"]
        assert "Old guide — free — " in header.params["text"] and "refunded" in header.params["text"]
        [copy] = copies_to(fake_api, staff_id, after=mark)
        assert (copy.params["from_chat_id"], copy.params["message_id"]) == ("42", str(question["message"]["message_id"]))
        assert copy.json("reply_parameters")["message_id"] == header.result["message_id"]
        assert fake_api.message(staff_id, copy.result["message_id"])["text"] == "My key does not work"
    done = only_screen(fake_api, mark + 4)
    assert done.params["chat_id"] == "42"
    assert done.params["text"].startswith("✅ Sent to support.")
    kept = SupportMessage.objects.get()
    assert (kept.customer, kept.direction, kept.kind, kept.text, kept.delivered) == (
        ann,
        "in",
        "text",
        "My key does not work",
        True,
    )


@pytest.mark.parametrize("kind", ["photo", "document", "video", "voice"])
def test_a_photo_or_a_file_goes_to_staff_too(send, press, fake_api, customer, kind):
    write_to_support(press)
    mark = fake_api.mark()

    send(updates.media(customer, kind, "FILE-9", caption="See the error"))

    assert len(copies_to(fake_api, 777, after=mark)) == len(copies_to(fake_api, 888, after=mark)) == 1
    kept = SupportMessage.objects.get()
    assert (kept.kind, kept.text, kept.file_id) == (kind, "See the error", "FILE-9")  # a photo's largest size


def test_an_album_goes_to_staff_whole_under_one_header(send, press, fake_api, customer):
    write_to_support(press)
    mark = fake_api.mark()

    send(updates.media(customer, "photo", "SHOT-1", media_group_id="album-1", caption="Two screenshots"))
    send(updates.media(customer, "photo", "SHOT-2", media_group_id="album-1"))

    assert len(headers_to(fake_api, 777, after=mark)) == 1
    assert len(copies_to(fake_api, 777, after=mark)) == 2
    assert len(sent_to(fake_api, 42, after=mark, containing="Sent to support")) == 1
    assert list(SupportMessage.objects.order_by("id").values_list("file_id", flat=True)) == ["SHOT-1", "SHOT-2"]


def test_only_the_next_message_goes_to_support(send, press, fake_api, customer):
    write_to_support(press)
    send(updates.message(customer, "First: for support"))
    mark = fake_api.mark()

    send(updates.message(customer, "Second: just chatting"))

    assert copies_to(fake_api, 777, after=mark) == []
    assert only_screen(fake_api, mark).params["text"].startswith(SEARCHED)


def test_cancel_stops_waiting(send, press, fake_api, customer):
    write_to_support(press)
    prompt = fake_api.calls_of("editMessageText")[-1]

    cancelled = press(button_data(prompt, "Cancel"), message_id=777)
    mark = fake_api.mark()
    send(updates.message(customer, "hello?"))

    [screen] = [c for c in cancelled if c.method == "editMessageText"]
    assert screen.params["text"].startswith("Cancelled: nothing was sent to support.")
    assert copies_to(fake_api, 777, after=mark) == []
    assert only_screen(fake_api, mark).params["text"].startswith(SEARCHED)


@pytest.mark.parametrize("text", ["/start", "/catalog", "/help"])
def test_a_command_stops_waiting(send, press, fake_api, customer, text):
    write_to_support(press)

    send(updates.message(customer, text))
    mark = fake_api.mark()
    send(updates.message(customer, "hello?"))

    assert fake_api.calls_of("copyMessage") == []
    assert only_screen(fake_api, mark).params["text"].startswith(SEARCHED)


def test_waiting_ends_after_ten_minutes(send, press, fake_api, customer):
    write_to_support(press)
    SupportWait.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))  # pressed 10 minutes ago
    mark = fake_api.mark()

    send(updates.message(customer, "hello?"))

    assert fake_api.calls_of("copyMessage") == []
    assert only_screen(fake_api, mark).params["text"].startswith(SEARCHED)


def test_what_support_cannot_take_is_refused_and_the_wait_goes_on(send, press, fake_api, customer):
    write_to_support(press)
    mark = fake_api.mark()

    send(updates.message(customer, location={"latitude": 52.5, "longitude": 13.4}))
    send(updates.message(customer, "Here is my question instead"))

    refusal = sent_to(fake_api, 42, after=mark)[0]
    assert refusal.params["text"].startswith("Support takes text, photos")
    assert buttons(refusal) == [("✖️ Cancel", callbacks.support_cancel())]
    assert len(copies_to(fake_api, 777, after=mark)) == 1


def test_too_many_messages_to_support_are_not_passed_on(settings, send, press, fake_api, customer):
    settings.FLOOD_RATE, settings.FLOOD_BURST = 1000, 1000  # only support's own budget counts here
    for n in range(flood.SUPPORT_BURST):
        write_to_support(press)
        send(updates.message(customer, f"Question {n}"))
    write_to_support(press)
    mark = fake_api.mark()

    send(updates.message(customer, "Question again"))

    assert copies_to(fake_api, 777) != [] and copies_to(fake_api, 777, after=mark) == []
    assert only_screen(fake_api, mark).params["text"].startswith("You have written to support several times")
    assert SupportMessage.objects.count() == flood.SUPPORT_BURST


def test_when_no_staff_member_can_be_reached_the_customer_is_told(settings, send, press, fake_api, customer):
    settings.SHOP_SUPPORT_CONTACT = "@shop_help"
    fake_api.fail_next("sendMessage", 403, "Forbidden: bot can't initiate conversation with a user", times=2)
    write_to_support(press)
    mark = fake_api.mark()

    send(updates.message(customer, "Anyone there?"))

    assert fake_api.calls_of("copyMessage") == []
    [told] = sent_to(fake_api, 42, after=mark)
    assert "could not be reached" in told.params["text"] and "@shop_help" in told.params["text"]
    assert SupportMessage.objects.get().delivered is False


def test_staff_get_the_header_in_their_language(send, press, fake_api, customer, product, lev):
    UserFactory(telegram_id=888, language_code="ru")
    PurchaseFactory(
        user=UserFactory(telegram_id=42), product=product, created_at=datetime.datetime(2026, 12, 2, 9, tzinfo=datetime.UTC)
    )
    write_to_support(press)

    send(updates.message(customer, "Help"))

    assert "2 Dec 2026" in headers_to(fake_api, 777)[0].params["text"]
    [russian] = [c for c in sent_to(fake_api, 888, method="sendMessage") if "2 дек 2026" in body(c)]
    assert "Editor Pro" in russian.params["text"]


def test_a_name_typed_by_the_customer_is_escaped_for_staff(send, press, fake_api):
    mallory = updates.tg_user(43, first_name="<b>Mal</b> & Co", username=None)
    write_to_support(press, mallory)

    send(updates.message(mallory, "hi"))

    [header] = headers_to(fake_api, 777)
    assert "&lt;b&gt;Mal&lt;/b&gt; &amp; Co (<code>43</code>)" in header.params["text"]


# --- staff answer ---


def asked(send, press, fake_api, customer, text="My key does not work") -> tuple[dict, dict]:
    """The customer wrote to support; returns their message and what staff member 777 was shown (the copy)."""
    write_to_support(press)
    mark = fake_api.mark()
    question = send_and_return(send, updates.message(customer, text))
    [copy] = copies_to(fake_api, 777, after=mark)
    return question, copy


def send_and_return(send, update: dict) -> dict:
    send(update)
    return update


def test_a_staff_reply_reaches_the_customer_as_an_answer_to_their_question(send, press, fake_api, customer, kim):
    question, copy = asked(send, press, fake_api, customer)
    mark = fake_api.mark()

    answer = send_and_return(send, updates.reply(kim, "Try the key again now", copy.result["message_id"]))

    [relayed] = copies_to(fake_api, 42, after=mark)
    assert (relayed.params["from_chat_id"], relayed.params["message_id"]) == ("777", str(answer["message"]["message_id"]))
    assert relayed.json("reply_parameters")["message_id"] == question["message"]["message_id"]
    assert button_data(relayed, "Write to support") == callbacks.support()  # the customer can write back
    assert fake_api.message(42, relayed.result["message_id"])["text"] == "Try the key again now"
    [confirmation] = sent_to(fake_api, 777, after=mark, method="sendMessage")
    assert confirmation.params["text"] == "✅ Sent to @ann."
    reply = SupportMessage.objects.get(direction="out")
    assert (reply.staff_telegram_id, reply.answer_to.text, reply.text, reply.delivered) == (
        777,
        "My key does not work",
        "Try the key again now",
        True,
    )


def test_a_reply_to_the_header_answers_too_and_a_photo_goes_as_a_photo(send, press, fake_api, customer, kim):
    asked(send, press, fake_api, customer)
    [header] = headers_to(fake_api, 777)
    mark = fake_api.mark()

    send(
        updates.reply(
            kim,
            None,
            header.result["message_id"],
            photo=[{"file_id": "SCREEN", "file_unique_id": "s", "width": 90, "height": 90}],
        )
    )

    [relayed] = copies_to(fake_api, 42, after=mark)
    assert "photo" in fake_api.message(42, relayed.result["message_id"])
    assert SupportMessage.objects.get(direction="out").kind == "photo"


def test_the_other_staff_member_can_answer_in_their_own_chat(send, press, fake_api, customer, lev):
    asked(send, press, fake_api, customer)
    [copy_for_lev] = copies_to(fake_api, 888)

    send(updates.reply(lev, "Ответ", copy_for_lev.result["message_id"]))

    assert len(copies_to(fake_api, 42)) == 1
    assert sent_to(fake_api, 888, method="sendMessage")[-1].params["text"] == "✅ Отправлено: @ann."


def test_a_customer_who_blocked_the_bot_is_reported_to_the_staff_member(send, press, fake_api, customer, kim):
    _, copy = asked(send, press, fake_api, customer)
    fake_api.fail_next("copyMessage", 403, "Forbidden: bot was blocked by the user")
    mark = fake_api.mark()

    send(updates.reply(kim, "Hello?", copy.result["message_id"]))

    [told] = sent_to(fake_api, 777, after=mark, method="sendMessage")
    assert told.params["text"] == "⚠️ Not delivered: @ann has blocked the bot."
    assert User.objects.get(telegram_id=42).is_blocked is True
    reply = SupportMessage.objects.get(direction="out")
    assert (reply.delivered, reply.error) == (False, "403 Forbidden: bot was blocked by the user")


def test_an_answer_telegram_cannot_take_now_is_handled_again(send, press, fake_api, customer, kim):
    _, copy = asked(send, press, fake_api, customer)
    fake_api.fail_next("copyMessage", 502, "Bad Gateway")
    reply = updates.reply(kim, "Hello?", copy.result["message_id"])

    assert send(reply) is False  # not done: polling or the webhook gives it to the bot again
    assert send(reply) is True

    assert len([c for c in copies_to(fake_api, 42) if c.status == 200]) == 1
    assert SupportMessage.objects.filter(direction="out").count() == 1


def test_a_staff_reply_to_anything_else_gets_the_usual_staff_answers(send, press, fake_api, customer, kim):
    asked(send, press, fake_api, customer)
    mark = fake_api.mark()

    send(updates.reply(kim, "a note to self", 4242))
    send(updates.reply(kim, None, 4242, photo=[{"file_id": "PIC", "file_unique_id": "p", "width": 90, "height": 90}]))

    assert copies_to(fake_api, 42, after=mark) == []
    searched, file_id = sent_to(fake_api, 777, after=mark, method="sendMessage")
    assert searched.params["text"].startswith(SEARCHED)
    assert "<code>PIC</code>" in file_id.params["text"]


def test_a_customer_replying_to_a_message_never_reaches_another_customer(send, press, fake_api, customer):
    _, copy = asked(send, press, fake_api, customer)
    bob = updates.tg_user(43, first_name="Bob", username="bob")
    mark = fake_api.mark()

    send(updates.reply(bob, "Let me in", copy.result["message_id"]))  # the same id, in Bob's own chat

    assert fake_api.calls_of("copyMessage")[len(copies_to(fake_api, 777)) + 1 :] == []
    assert [c.params["chat_id"] for c in fake_api.calls[mark:] if c.method == "sendMessage"] == ["43"]


def test_a_lost_confirmation_never_sends_the_answer_twice(send, press, fake_api, customer, kim):
    _, copy = asked(send, press, fake_api, customer)
    fake_api.fail_next("sendMessage", 502, "Bad Gateway")  # the "Sent to @ann" to the staff member

    assert send(updates.reply(kim, "Hello?", copy.result["message_id"])) is True

    assert len(copies_to(fake_api, 42)) == 1
