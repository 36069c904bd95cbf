"""Promo codes and referral links through the bot: «Have a promo code?» on a card, the struck-through price,
Buy at the code's price, refusals with their reason, `/start c…` and `/start r…`, «Invite friends», the
referrer's reward message.

Updates go through botapp.dispatch.process_update to a real TeleBot talking HTTP to the fake Bot API.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from botapp import callbacks
from botapp.testing import updates
from botapp.testing.helpers import body, buttons, callback_answers, sent_to
from shop.models import Purchase, User
from shop.promotions.models import AppliedPromoCode, PromoRedemption, Referral, ReferralReward
from shop.promotions.services import promo_wait_pending, referral_code
from shop.testing.factories import ProductFactory, StockProductFactory, UserFactory, stocked
from shop.testing.promotions import PromoCodeFactory, ReferralFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def shop_settings(settings):
    settings.SHOP_CURRENCY = "XTR"
    settings.PAYMENT_PROVIDER_TOKEN = ""
    settings.ADMIN_IDS = []
    settings.TELEGRAM_BOT_USERNAME = ""
    settings.SHOP_REFERRAL_REWARD_PERCENT = 10
    settings.SHOP_REFERRAL_REWARD_DAYS = 30


@pytest.fixture
def card(press):
    def _card(product, *, user=None):
        screens = [c for c in press(callbacks.product(product.pk), user=user) if c.method == "editMessageText"]
        assert len(screens) == 1
        return screens[0]

    return _card


def enter_code(press, send, fake_api, customer, product, text):
    """«Have a promo code?», then the code as the next message; returns what the bot sent in answer."""
    prompt = [c for c in press(callbacks.promo(product.pk)) if c.method == "editMessageText"]
    assert "Send your promo code" in body(prompt[0])
    mark = fake_api.mark()
    send(updates.message(customer, text))
    return sent_to(fake_api, customer["id"], after=mark)


def invoice_for(press, product, user=None, quantity=1):
    invoices = [c for c in press(callbacks.buy(product.pk, quantity), user=user) if c.method == "sendInvoice"]
    assert len(invoices) == 1
    return invoices[0]


# --- the card ---


def test_the_card_offers_a_promo_code_only_when_the_shop_has_codes(card, product):
    assert ("🎟 Have a promo code?", callbacks.promo(product.pk)) not in buttons(card(product))
    PromoCodeFactory(code="SAVE10")
    assert ("🎟 Have a promo code?", callbacks.promo(product.pk)) in buttons(card(product))


def test_a_typed_code_shows_the_old_price_struck_and_buy_uses_the_new_one(press, send, fake_api, customer, product, card):
    PromoCodeFactory(code="SAVE10", value=10)  # product: ⭐ 50

    answer = enter_code(press, send, fake_api, customer, product, "save10")

    assert len(answer) == 1
    assert "✅ Promo code <b>SAVE10</b> applied." in body(answer[0])
    assert "<s>⭐ 50</s> ⭐ 45" in body(answer[0])
    assert ("Buy for ⭐ 45", callbacks.buy(product.pk)) in buttons(answer[0])
    assert "<s>⭐ 50</s> ⭐ 45" in body(card(product))  # the card remembers it
    invoice = invoice_for(press, product)
    assert invoice.json("prices")[0]["amount"] == 45


def test_paying_the_discounted_invoice_records_the_code_and_delivers(press, send, fake_api, customer, product, pay):
    PromoCodeFactory(code="SAVE10", value=10)
    enter_code(press, send, fake_api, customer, product, "SAVE10")
    invoice = invoice_for(press, product)
    mark = fake_api.mark()
    send(updates.pre_checkout(customer, invoice.params["payload"], total_amount=45))
    assert fake_api.calls[mark].params["ok"] == "True"
    pay(invoice)
    purchase = Purchase.objects.get()
    assert (purchase.price, purchase.promo.list_price, purchase.promo.code.code) == (45, 50, "SAVE10")
    assert sent_to(fake_api, 42, containing="KEY-123")
    assert not AppliedPromoCode.objects.exists()  # used: the next purchase is at full price


@pytest.mark.parametrize(
    ("code_fields", "typed", "reason"),
    [
        ({}, "NOPE", "there is no such promo code"),
        ({"valid_until": timezone.now() - timedelta(days=1)}, "OLD", "this promo code has expired"),
        ({"max_uses": 0}, "GONE", "this promo code has been used up"),
        ({"is_active": False}, "OFF", "this promo code is not active"),
    ],
)
def test_a_refused_code_gets_its_reason_and_a_way_back(press, send, fake_api, customer, product, code_fields, typed, reason):
    PromoCodeFactory(code="SAVE10")
    if typed != "NOPE":
        PromoCodeFactory(code=typed, **code_fields)
    answer = enter_code(press, send, fake_api, customer, product, typed.lower())
    assert len(answer) == 1 and reason in body(answer[0])
    assert buttons(answer[0]) == [("🎟 Try another code", callbacks.promo(product.pk)), ("« Back", callbacks.product(product.pk))]
    assert not AppliedPromoCode.objects.exists()


def test_a_code_for_another_product_is_refused_on_this_card(press, send, fake_api, customer, product):
    other = ProductFactory(price=10)
    code = PromoCodeFactory(code="OTHER")
    code.products.add(other)
    answer = enter_code(press, send, fake_api, customer, product, "other")
    assert "this promo code is not for this product" in body(answer[0])


def test_a_code_already_used_says_so(press, send, fake_api, customer, product):
    code = PromoCodeFactory(code="ONCE")
    user = UserFactory(telegram_id=42)
    PromoRedemption.objects.create(
        code=code,
        user=user,
        purchase=Purchase.objects.create(
            user=user, product=ProductFactory(), price=1, currency="XTR", payment_type="stars", payment_id="x"
        ),
    )
    answer = enter_code(press, send, fake_api, customer, product, "once")
    assert "you have already used this promo code" in body(answer[0])


def test_html_in_a_typed_code_is_escaped(press, send, fake_api, customer, product):
    PromoCodeFactory(code="SAVE10")
    answer = enter_code(press, send, fake_api, customer, product, "<b>x</b>")
    assert "<b>x</b>" not in body(answer[0]) and "there is no such promo code" in body(answer[0])


def test_cancel_or_a_command_stops_waiting_for_the_code(press, send, fake_api, customer, product, command):
    PromoCodeFactory(code="SAVE10")
    press(callbacks.promo(product.pk))
    screen = next(c for c in press(callbacks.promo_cancel(product.pk)) if c.method == "editMessageText")
    assert "<b>Editor Pro</b>" in body(screen)
    assert not promo_wait_pending(telegram_id=42)
    press(callbacks.promo(product.pk))
    command("/catalog")
    assert not promo_wait_pending(telegram_id=42)
    reply = command("SAVE10")  # no longer taken as a code: plain text nothing waits for is a search
    assert "Nothing found for «SAVE10»" in body(reply)


def test_a_code_that_ran_out_after_it_was_applied_is_refused_at_buy_with_its_reason(
    press, send, fake_api, customer, product, card
):
    code = PromoCodeFactory(code="SAVE10")
    enter_code(press, send, fake_api, customer, product, "save10")
    code.is_active = False
    code.save()
    calls = press(callbacks.buy(product.pk))
    assert not [c for c in calls if c.method == "sendInvoice"]
    assert "this promo code is not active" in callback_answers(calls)[0]
    assert "Buy for ⭐ 50" in [t for t, _d in buttons(next(c for c in calls if c.method == "sendMessage"))]


def test_a_code_taking_the_whole_price_hands_the_product_over_free(press, send, fake_api, customer, product):
    PromoCodeFactory(code="GIFT", value=100)
    answer = enter_code(press, send, fake_api, customer, product, "gift")
    assert "<s>⭐ 50</s> free" in body(answer[0])
    assert ("🎁 Get it free", callbacks.buy(product.pk)) in buttons(answer[0])
    calls = press(callbacks.buy(product.pk))
    assert not [c for c in calls if c.method == "sendInvoice"]
    assert sent_to(fake_api, 42, containing="KEY-123")
    purchase = Purchase.objects.get()
    assert (purchase.price, purchase.payment_type, purchase.promo.list_price) == (0, "free", 50)


def test_a_stock_product_with_a_code_sells_several_units_at_the_code_price(press, send, fake_api, customer, pay):
    keys = StockProductFactory(name="Game key", price=10, max_per_order=3)
    stocked(keys, 5)
    PromoCodeFactory(code="KEYS", value=20)
    answer = enter_code(press, send, fake_api, customer, keys, "keys")
    assert "<s>⭐ 10</s> ⭐ 8" in body(answer[0])
    invoice = invoice_for(press, keys, quantity=2)
    assert invoice.json("prices")[0]["amount"] == 16
    send(updates.pre_checkout(customer, invoice.params["payload"], total_amount=16))
    pay(invoice)
    purchase = Purchase.objects.get()
    assert (purchase.quantity, purchase.price, purchase.units.count()) == (2, 16, 2)


def test_pre_checkout_refuses_when_the_code_ran_out_meanwhile(press, send, fake_api, customer, product):
    code = PromoCodeFactory(code="SAVE10")
    enter_code(press, send, fake_api, customer, product, "save10")
    invoice = invoice_for(press, product)
    code.is_active = False
    code.save()
    mark = fake_api.mark()
    send(updates.pre_checkout(customer, invoice.params["payload"], total_amount=45))
    answer = fake_api.calls[mark]
    assert answer.params["ok"] == "False" and "promo code can no longer be used" in answer.params["error_message"]


# --- deep links ---


def test_start_with_a_code_link_applies_it_to_the_next_purchase(command, card, product):
    PromoCodeFactory(code="SAVE10", value=10)
    sent = command("/start csave10")
    assert "Promo code <b>SAVE10</b> (−10%) is applied to your next purchase" in body(sent)
    assert "<s>⭐ 50</s> ⭐ 45" in body(card(product))


def test_start_with_an_unknown_code_link_says_so(command):
    sent = command("/start cNOPE")
    assert "there is no such promo code" in body(sent)
    assert ("🛍 Catalog", "cats:1") in buttons(sent)


def test_start_with_a_referral_link_records_the_friend_at_first_start_only(command):
    ann = UserFactory(telegram_id=42)
    link = f"/start r{referral_code(user=ann)}"
    command(link, user=updates.tg_user(43, first_name="Bob"))
    assert Referral.objects.get().referred.telegram_id == 43
    command(link, user=updates.tg_user(43, first_name="Bob"))  # again: nothing more
    carol = UserFactory(telegram_id=44)  # known before she opened the link
    command(link, user=updates.tg_user(44, first_name="Carol"))
    command(link, user=updates.tg_user(42))  # her own link
    assert list(Referral.objects.values_list("referrer__telegram_id", "referred__telegram_id")) == [(42, 43)]
    assert carol.pk


def test_a_forged_referral_link_records_nothing_and_greets(command):
    UserFactory(telegram_id=42)
    sent = command("/start r1_00000000", user=updates.tg_user(45, first_name="Dan"))
    assert "Hello, Dan!" in body(sent)
    assert not Referral.objects.exists()


# --- invite friends ---


def test_invite_friends_shows_the_personal_link_and_how_many_joined_and_bought(press_for_screen, customer):
    ann = UserFactory(telegram_id=42)
    bob, carol = UserFactory(), UserFactory()
    ReferralFactory(referrer=ann, referred=bob)
    ReferralFactory(referrer=ann, referred=carol)
    Purchase.objects.create(user=bob, product=ProductFactory(), price=5, currency="XTR", payment_type="stars", payment_id="b")
    screen = press_for_screen(callbacks.invite())
    assert f"https://t.me/shop_bot?start=r{referral_code(user=ann)}" in body(screen)  # the username from getMe
    assert "Friends joined: 2" in body(screen) and "Friends who bought: 1" in body(screen)
    assert "10% off, valid 30 days" in body(screen)


def test_the_main_menu_has_invite_friends(command):
    assert ("👥 Invite friends", callbacks.invite()) in buttons(command("/start"))


# --- the referrer's reward ---


def test_the_referrer_is_told_their_reward_code_once(press, send, fake_api, pay, run_due_tasks, product):
    ann = UserFactory(telegram_id=42, language_code="en")
    bob = updates.tg_user(43, first_name="Bob")
    ReferralFactory(referrer=ann, referred=UserFactory(telegram_id=43))
    invoice = invoice_for(press, product, user=bob)
    send(updates.pre_checkout(bob, invoice.params["payload"], total_amount=50))
    update = pay(invoice, user=bob)
    send(update)  # Telegram repeats the update
    run_due_tasks()
    told = sent_to(fake_api, 42, containing="first purchase")
    assert len(told) == 1
    code = ReferralReward.objects.get().code.code
    assert f"<code>{code}</code>" in body(told[0]) and "10% off" in body(told[0])
    assert "applied to your next purchase" in body(told[0])
    assert User.objects.get(telegram_id=42).pk == ann.pk


def test_in_a_provider_currency_the_invoice_is_for_the_discounted_price_in_minor_units(
    settings, press, send, fake_api, customer, product
):
    settings.SHOP_CURRENCY = "RUB"
    settings.PAYMENT_PROVIDER_TOKEN = "provider-token"
    PromoCodeFactory(code="RUB10", value=10)
    answer = enter_code(press, send, fake_api, customer, product, "rub10")
    assert "<s>50 ₽</s> 45 ₽" in body(answer[0])
    invoice = invoice_for(press, product)
    assert (invoice.params["currency"], invoice.json("prices")[0]["amount"]) == ("RUB", 4500)
    mark = fake_api.mark()
    send(updates.pre_checkout(customer, invoice.params["payload"], total_amount=4500, currency="RUB"))
    assert fake_api.calls[mark].params["ok"] == "True"


# --- found in review ---


def test_a_declined_card_leaves_the_code_for_the_next_buy(press, send, fake_api, customer, product):
    PromoCodeFactory(code="SAVE10", value=10)
    enter_code(press, send, fake_api, customer, product, "save10")
    invoice = invoice_for(press, product)
    mark = fake_api.mark()
    send(updates.pre_checkout(customer, invoice.params["payload"], total_amount=45))
    assert fake_api.calls[mark].params["ok"] == "True"
    # the card is declined: no successful_payment. Buy again: the code still applies
    again = invoice_for(press, product)
    assert again.json("prices")[0]["amount"] == 45
    mark = fake_api.mark()
    send(updates.pre_checkout(customer, again.params["payload"], total_amount=45))
    assert fake_api.calls[mark].params["ok"] == "True"
    assert AppliedPromoCode.objects.filter(code__code="SAVE10").exists()


def test_a_price_telegram_finds_too_small_says_so_and_takes_the_code_off(settings, press, send, fake_api, customer, product):
    settings.SHOP_CURRENCY = "RUB"
    settings.PAYMENT_PROVIDER_TOKEN = "provider-token"
    PromoCodeFactory(code="STEEP", value=98)  # 50 ₽ → 1 ₽, below Telegram's least payment in roubles
    enter_code(press, send, fake_api, customer, product, "steep")
    fake_api.fail_next("sendInvoice", 400, "Bad Request: CURRENCY_TOTAL_AMOUNT_INVALID")
    calls = press(callbacks.buy(product.pk))
    assert callback_answers(calls) == ["Telegram takes no payment this small in RUB: the promo code STEEP cannot be used here."]
    screens = [c for c in calls if c.method in ("sendMessage", "editMessageText")]  # the card, at its price
    assert len(screens) == 1 and "<s>" not in body(screens[0]) and "50 ₽" in body(screens[0])
    assert not AppliedPromoCode.objects.exists()
    assert invoice_for(press, product).json("prices")[0]["amount"] == 5000  # at its price, it can be bought
