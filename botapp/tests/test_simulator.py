"""Try the bot: the real bot driven through the in-process Bot API stand-in (botapp/simulator.py)."""

import pytest
from django.core.exceptions import ValidationError
from telebot.types import Update

from botapp.bot_api_stand_in import StandIn
from botapp.dispatch import process_update
from botapp.models import TrialMessage
from botapp.simulator import TrialChat
from botapp.tasks import schedule_delivery
from botapp.telegram.http import stand_in
from botapp.testing import updates
from botapp.testing.helpers import post_update
from shop.models import Purchase, User
from shop.services.payments import purchase_grant
from shop.support.models import SupportCopy
from shop.testing.concurrency import run_at_once
from shop.testing.factories import ProductFactory, StockProductFactory, StockUnitFactory
from shop.trial import TEST_IDS_UP_TO, trial_customer_id

pytestmark = pytest.mark.django_db


@pytest.fixture
def chat():
    return TrialChat(staff_id=7, name="alice")


def button(message: dict, text_part: str) -> str:
    for row in message["buttons"]:
        for b in row:
            if text_part in b["text"]:
                return b["data"]
    raise AssertionError(f"no button {text_part!r} in {message['buttons']}")


def last_bot_message(chat: TrialChat) -> dict:
    return [m for m in chat.messages() if m["from_bot"]][-1]


def test_start_shows_the_menu_as_the_test_customer(chat):
    chat.send_text("/start")
    first, menu = chat.messages()
    assert (first["from_bot"], first["html"]) == (False, "/start")
    assert menu["from_bot"] and "Hello, alice" in menu["html"]
    assert button(menu, "Catalog")
    customer = User.objects.get()
    assert customer.telegram_id == trial_customer_id(staff_id=7) <= TEST_IDS_UP_TO


def test_catalog_product_pay_delivers_and_my_purchases_shows_it(chat, product):
    chat.send_text("/start")
    menu = last_bot_message(chat)
    chat.press(message_id=menu["id"], data=button(menu, "Catalog"))
    catalog = last_bot_message(chat)
    assert catalog["id"] == menu["id"] and catalog["edited"]  # the same message, edited in place
    assert "<b>Catalog</b>" in catalog["html"]
    chat.press(message_id=catalog["id"], data=button(catalog, "Keys"))
    category = last_bot_message(chat)
    chat.press(message_id=category["id"], data=button(category, "Editor Pro"))
    card = last_bot_message(chat)
    assert "<b>great</b>" in card["html"]
    chat.press(message_id=card["id"], data=button(card, "Buy"))
    invoice = last_bot_message(chat)
    assert invoice["invoice"] == {
        "title": "Editor Pro",
        "description": "A great editor.",
        "currency": "XTR",
        "total_amount": 50,
        "paid": False,
    }
    assert not Purchase.objects.exists()

    outcome = chat.pay(message_id=invoice["id"])

    assert outcome.checkout_error is None
    purchase = Purchase.objects.get()
    assert (purchase.payment_type, purchase.price, purchase.delivered_at is not None) == ("test", 50, True)
    assert purchase.payment_id.startswith("test:")
    shown = chat.messages()
    assert next(m for m in shown if m["id"] == invoice["id"])["invoice"]["paid"]
    assert any("KEY-123" in m.get("html", "") for m in shown)

    delivered = last_bot_message(chat)
    chat.press(message_id=delivered["id"], data=button(delivered, "My purchases"))
    purchases = last_bot_message(chat)
    assert "You have 1 purchase" in purchases["html"]
    assert button(purchases, "Editor Pro")


def test_paying_twice_for_the_same_invoice_is_not_possible(chat, product):
    chat.send_text(f"/start p{product.pk}")
    card = last_bot_message(chat)
    chat.press(message_id=card["id"], data=button(card, "Buy"))
    invoice = last_bot_message(chat)
    chat.pay(message_id=invoice["id"])
    assert chat.pay(message_id=invoice["id"]).checkout_error == ""
    assert Purchase.objects.count() == 1


def test_a_checkout_the_bot_refuses_shows_its_reason_and_records_nothing(chat, product):
    chat.send_text(f"/start p{product.pk}")
    card = last_bot_message(chat)
    chat.press(message_id=card["id"], data=button(card, "Buy"))
    invoice = last_bot_message(chat)
    product.price = 70
    product.save()
    outcome = chat.pay(message_id=invoice["id"])
    assert outcome.checkout_error and "price" in outcome.checkout_error.lower()
    assert not Purchase.objects.exists()


def test_a_test_purchase_of_a_stock_product_takes_no_real_units(chat):
    product = StockProductFactory(name="Game key", price=5)
    unit = StockUnitFactory(product=product)
    chat.send_text(f"/start p{product.pk}")
    card = last_bot_message(chat)
    chat.press(message_id=card["id"], data=button(card, "Buy"))
    chat.pay(message_id=last_bot_message(chat)["id"])
    purchase = Purchase.objects.get()
    assert purchase.payment_type == "test"
    unit.refresh_from_db()
    assert unit.purchase is None and unit.reserved_until is None  # still for sale to real customers
    assert unit.content not in str(chat.messages())
    assert "<code>TEST-0001 (a sample: test purchases take no real units)</code>" in last_bot_message(chat)["html"]


def test_a_button_not_in_the_chat_cannot_be_pressed(chat, product):
    chat.send_text("/start")
    menu = last_bot_message(chat)
    before = chat.messages()
    chat.press(message_id=menu["id"], data=f"buy:{product.pk}")
    assert chat.messages() == before


def test_start_over_forgets_the_test_customer_and_their_test_purchases(chat, product):
    chat.send_text(f"/start p{product.pk}")
    card = last_bot_message(chat)
    chat.press(message_id=card["id"], data=button(card, "Buy"))
    chat.pay(message_id=last_bot_message(chat)["id"])
    assert Purchase.objects.count() == 1

    chat.start_over()

    assert chat.messages() == []
    assert not Purchase.objects.exists()
    assert not User.objects.filter(telegram_id=chat.chat_id).exists()


def test_staff_members_each_have_their_own_test_customer(product):
    ann, bob = TrialChat(staff_id=1, name="ann"), TrialChat(staff_id=2, name="bob")
    ann.send_text("/start")
    bob.send_text("/help")
    assert ann.chat_id != bob.chat_id
    assert "Hello, ann" in ann.messages()[-1]["html"]
    assert all("Hello" not in m.get("html", "") for m in bob.messages())


# --- never outside the page ---


def test_an_update_from_a_test_customer_outside_try_the_bot_is_refused(bot, fake_api, product):
    forged = updates.tg_user(trial_customer_id(staff_id=3))
    invoice_payload = updates.stars_payload(forged["id"], product)
    payment = updates.successful_payment(forged, invoice_payload, total_amount=50, charge_id="test:forged")
    for update in (updates.message(forged, "/start"), payment):
        assert process_update(bot, Update.de_json(update)) is True
    assert not User.objects.exists() and not Purchase.objects.exists()
    assert fake_api.calls_of("sendMessage") == []


def test_a_test_charge_id_from_a_real_customer_is_not_a_test_payment(bot, fake_api, product):
    ann = updates.tg_user(42)
    payment = updates.successful_payment(ann, updates.stars_payload(42, product), total_amount=50, charge_id="test:abc")
    process_update(bot, Update.de_json(payment))
    purchase = Purchase.objects.get()
    assert purchase.payment_type == "stars" and purchase.review_reason  # real money, kept for staff to look at


def test_the_network_path_never_sends_to_a_test_customer(bot, fake_api):
    with pytest.raises(Exception, match="chat not found"):
        bot.send_message(trial_customer_id(staff_id=1), "hello")
    assert fake_api.calls_of("sendMessage") == []


def test_within_the_stand_in_nothing_goes_over_the_network(bot, fake_api):
    stand = StandIn(chat_id=trial_customer_id(staff_id=1))
    with stand_in(stand):
        bot.send_message(stand.chat_id, "hello")
        bot.send_message(42, "to a staff member")
    assert fake_api.calls == []
    assert TrialMessage.objects.count() == 1


def test_the_webhook_refuses_a_test_payment_from_outside_try_the_bot(client, settings, fake_api, product):
    settings.TELEGRAM_WEBHOOK_SECRET = "a-webhook-secret"
    forged = updates.tg_user(trial_customer_id(staff_id=1))
    checkout = updates.pre_checkout(forged, updates.stars_payload(forged["id"], product), total_amount=50)
    payment = updates.successful_payment(
        forged, updates.stars_payload(forged["id"], product), total_amount=50, charge_id="test:from-outside"
    )
    for update in (updates.message(forged, "/start"), checkout, payment):
        assert post_update(client, update).status_code == 200
    assert not Purchase.objects.exists() and not User.objects.exists()
    assert fake_api.calls == []  # not even the checkout was answered: nobody there to answer


def test_a_free_product_in_try_the_bot_is_a_test_purchase_too(chat):
    product = StockProductFactory(name="Free key", price=0)
    unit = StockUnitFactory(product=product)
    chat.send_text(f"/start p{product.pk}")
    card = last_bot_message(chat)
    chat.press(message_id=card["id"], data=button(card, "Get it free"))
    purchase = Purchase.objects.get()
    assert purchase.payment_type == "test" and purchase.payment_id.startswith("test:")
    unit.refresh_from_db()
    assert unit.purchase is None


def test_background_delivery_skips_a_test_purchase(chat, product, fake_api, run_due_tasks):
    chat.send_text(f"/start p{product.pk}")
    card = last_bot_message(chat)
    chat.press(message_id=card["id"], data=button(card, "Buy"))
    chat.pay(message_id=last_bot_message(chat)["id"])
    purchase = Purchase.objects.get()
    schedule_delivery(purchase.pk, again=True)  # "Deliver content" pressed on it in the admin, say
    assert run_due_tasks() == 1
    assert fake_api.calls == []


def test_nothing_is_granted_to_a_test_customer(chat, product):
    chat.send_text("/start")
    with pytest.raises(ValidationError):
        purchase_grant(user=User.objects.get(), product=product)


@pytest.mark.django_db(transaction=True)
def test_pay_pressed_in_several_tabs_at_once_pays_once():
    product = ProductFactory(name="Editor Pro", price=50)
    chat = TrialChat(staff_id=7, name="alice")
    chat.send_text(f"/start p{product.pk}")
    card = last_bot_message(chat)
    chat.press(message_id=card["id"], data=button(card, "Buy"))
    invoice_id = last_bot_message(chat)["id"]

    outcomes = run_at_once(lambda i: TrialChat(staff_id=7, name="alice").pay(message_id=invoice_id), 4)

    assert Purchase.objects.count() == 1
    assert sum(outcome.checkout_error is None for outcome in outcomes) == 1
    assert sum("KEY" in m.get("html", "") for m in chat.messages()) == 1  # delivered once


def test_writing_to_support_from_try_the_bot_never_reaches_real_staff_chats(chat, settings, fake_api):
    settings.ADMIN_IDS = [500]
    for text in ("First question", "Second question"):
        chat.send_text("/paysupport")
        screen = last_bot_message(chat)
        chat.press(message_id=screen["id"], data=button(screen, "Write to support"))
        chat.send_text(text)
        assert "Sent to support" in last_bot_message(chat)["html"]
    copies = SupportCopy.objects.all()
    assert len(copies) == 4  # a header and the message, for each question
    assert all(copy.staff_message_id < 0 for copy in copies)  # no real message has such an id
    assert fake_api.calls == []


def test_a_test_purchase_of_chat_access_shows_the_welcome_text_and_no_invite_link_and_start_over_works(chat, settings):
    from shop.access.models import Membership
    from shop.testing.access import ChannelProductFactory

    settings.SHOP_CURRENCY = "XTR"
    product = ChannelProductFactory(name="Club", price=50)
    chat.send_text(f"/start p{product.pk}")
    card = last_bot_message(chat)
    chat.press(message_id=card["id"], data=button(card, "Buy"))
    outcome = chat.pay(message_id=last_bot_message(chat)["id"])

    assert outcome.checkout_error is None
    assert Purchase.objects.get().payment_type == "test"
    delivered = last_bot_message(chat)
    assert "Welcome to the club!" in delivered["html"] and "A test payment" in delivered["html"]
    assert not any(b.get("url") for row in delivered["buttons"] for b in row)  # no invite link to the real chat
    assert not Membership.objects.exists()
    chat.press(message_id=delivered["id"], data=button(delivered, "My purchases"))
    purchases = last_bot_message(chat)
    chat.press(message_id=purchases["id"], data=button(purchases, "Club"))
    assert "Club" in last_bot_message(chat)["html"]  # the card opens (no access: Buy again)

    chat.start_over()

    assert not Purchase.objects.exists()
    assert not User.objects.filter(telegram_id=chat.chat_id).exists()
