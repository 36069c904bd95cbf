"""Reviews through the bot: the buyer rates from the card (1-5 buttons) and may write a short text as their next
message; the card shows "★ 4.7 (23)" and a Reviews list, page by page, with every text escaped; a day after
delivery the bot invites the buyer to rate, once.

Updates go through botapp.dispatch.process_update to a real TeleBot talking HTTP to the fake Bot API (which
refuses broken HTML and over-long messages as Telegram does).
"""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from botapp import callbacks, texts
from botapp.delivery import deliver_purchase
from botapp.reviews import review_invitation_task
from botapp.telegram.client import api_client
from botapp.testing import updates
from botapp.testing.helpers import body, button_data, buttons, callback_answers, english, only_screen, sent_to
from shop.models import Product, Purchase
from shop.reviews.models import TEXT_MAX_LENGTH, Review, ReviewInvitation
from shop.reviews.services import review_hide, review_rate
from shop.services.delivery import purchase_request_delivery
from shop.testing.factories import ProductFactory, PurchaseFactory, UserFactory

pytestmark = pytest.mark.django_db

RATE = "⭐ Rate this product"
NOT_ALLOWED = "Only customers who bought this product (and kept it) can review it."
NOT_UNDERSTOOD = "Sorry, I did not understand that."
NOT_A_REVIEW = "Nothing found for «hello»"  # plain text nothing waits for is a search


@pytest.fixture(autouse=True)
def shop_settings(settings):
    settings.SHOP_CURRENCY = "XTR"
    settings.ADMIN_IDS = []
    settings.REVIEW_INVITATION_HOURS = 24


@pytest.fixture
def ann_bought(product):
    """Ann (the `customer`, Telegram id 42) bought the product."""
    return PurchaseFactory(user=UserFactory(telegram_id=42, first_name="Ann"), product=product, delivered_at=timezone.now())


@pytest.fixture
def bob():
    return updates.tg_user(43, first_name="Bob", username="bob", language_code="en")


def reviewed_by(product, rating: int, text: str = "", *, first_name: str = "Buyer", created_at=None) -> Review:
    """A review by a new buyer of the product, through the service."""
    user = UserFactory(first_name=first_name)
    PurchaseFactory(user=user, product=product)
    review = review_rate(telegram_id=user.telegram_id, product_id=product.pk, rating=rating)
    Review.objects.filter(pk=review.pk).update(text=text, created_at=created_at or timezone.now())
    return review


def text_message(send, fake_api, user: dict, text: str | None = None, **extra):
    """The customer sends a message; returns the one message the bot sent back."""
    mark = fake_api.mark()
    send(updates.message(user, text, **extra))
    return only_screen(fake_api, mark)


# --- the card ---


def test_the_card_of_a_product_without_reviews_has_no_rating_and_no_reviews_button(press_for_screen, product):
    card = press_for_screen(callbacks.product(product.pk))
    assert "★" not in body(card)
    assert buttons(card) == [("Buy for ⭐ 50", callbacks.buy(product.pk)), ("« Back", callbacks.catalog())]


def test_the_card_shows_the_average_and_count_of_visible_reviews_to_everyone(press_for_screen, product):
    for rating in (5, 5, 4):
        reviewed_by(product, rating)
    review_hide(review=reviewed_by(product, 1), reason="Spam")
    card = press_for_screen(callbacks.product(product.pk))
    assert body(card).startswith("<b>Editor Pro</b>\n★ 4.7 (3)\n")
    assert buttons(card) == [
        ("Buy for ⭐ 50", callbacks.buy(product.pk)),
        ("💬 Reviews (3)", callbacks.reviews(product.pk)),
        ("« Back", callbacks.catalog()),
    ]


def test_the_buyer_sees_rate_on_the_card_opened_from_my_purchases(press_for_screen, ann_bought, product):
    purchases = press_for_screen(callbacks.purchases())
    card = press_for_screen(button_data(purchases, "Editor Pro"))
    back = callbacks.Back("purchases", page=1)
    assert buttons(card) == [
        ("📂 Open", callbacks.open_(product.pk)),
        (RATE, callbacks.rate(product.pk, back)),
        ("« Back", callbacks.purchases(1)),
    ]


def test_a_refunded_buyer_sees_no_rate_and_a_forged_press_is_refused(press, press_for_screen, product):
    PurchaseFactory(user=UserFactory(telegram_id=42), product=product, refunded=True)
    assert RATE not in [text for text, _data in buttons(press_for_screen(callbacks.product(product.pk)))]
    for data in (callbacks.rate(product.pk), callbacks.rate_set(product.pk, 5)):
        calls = press(data)
        assert callback_answers(calls) == [NOT_ALLOWED]
        assert not [c for c in calls if c.method in ("editMessageText", "sendMessage")]
    assert not Review.objects.exists()


def test_someone_who_never_bought_cannot_rate_by_forged_data(press, product):
    assert callback_answers(press(callbacks.rate_set(product.pk, 1))) == [NOT_ALLOWED]
    assert not Review.objects.exists()


@pytest.mark.parametrize("reviews", [1, 60])
def test_the_card_takes_at_most_five_queries_however_many_reviews(
    press_for_screen, ann_bought, product, reviews, django_assert_max_num_queries
):
    for n in range(reviews):
        reviewed_by(product, n % 5 + 1)
    press_for_screen(callbacks.product(product.pk))  # the customer's record is brought up to date once
    with django_assert_max_num_queries(5):
        card = press_for_screen(callbacks.product(product.pk))
    assert f"({reviews})" in body(card)


# --- rating and writing ---


def test_the_buyer_rates_then_writes_and_the_card_shows_it(send, fake_api, press_for_screen, customer, ann_bought, product):
    prompt = press_for_screen(callbacks.rate(product.pk))
    assert body(prompt) == "How would you rate <b>Editor Pro</b>?"
    assert buttons(prompt) == [(f"{n} ★", callbacks.rate_set(product.pk, n)) for n in range(1, 6)] + [
        ("« Back", callbacks.product(product.pk))
    ]

    thanks = press_for_screen(callbacks.rate_set(product.pk, 4))
    assert body(thanks).startswith("Thank you! You rated <b>Editor Pro</b> ★★★★☆.")
    assert "next message (up to 500 characters)" in body(thanks)
    assert buttons(thanks) == [("Skip »", callbacks.review_skip(product.pk))]
    assert Review.objects.get().rating == 4

    saved = text_message(send, fake_api, customer, "Fast and simple")
    assert body(saved) == "✅ Thank you! Your review of <b>Editor Pro</b> is saved."
    assert buttons(saved) == [("🛍 View", callbacks.product(product.pk)), ("« Menu", callbacks.menu())]
    assert Review.objects.get().text == "Fast and simple"

    card = press_for_screen(callbacks.product(product.pk))
    assert "★ 4.0 (1)" in body(card)


def test_rating_again_edits_the_review(press_for_screen, ann_bought, product):
    press_for_screen(callbacks.rate_set(product.pk, 2))
    prompt = press_for_screen(callbacks.rate(product.pk))
    assert "Your rating now: ★★☆☆☆" in body(prompt)
    press_for_screen(callbacks.rate_set(product.pk, 5))
    assert list(Review.objects.values_list("rating", flat=True)) == [5]
    assert "★ 5.0 (1)" in body(press_for_screen(callbacks.product(product.pk)))


def test_skip_keeps_the_rating_shows_the_card_and_ends_the_wait(send, fake_api, press, customer, ann_bought, product):
    press(callbacks.rate_set(product.pk, 3))
    calls = press(callbacks.review_skip(product.pk))
    assert callback_answers(calls) == ["Thank you for your review!"]
    [card] = [c for c in calls if c.method == "editMessageText"]
    assert "★ 3.0 (1)" in body(card)
    assert NOT_A_REVIEW in body(text_message(send, fake_api, customer, "hello"))  # not taken as a review: a search
    assert Review.objects.get().text == ""


def test_a_command_ends_the_wait(send, fake_api, press, customer, ann_bought, product):
    press(callbacks.rate_set(product.pk, 3))
    text_message(send, fake_api, customer, "/catalog")
    assert NOT_A_REVIEW in body(text_message(send, fake_api, customer, "hello"))
    assert Review.objects.get().text == ""


@pytest.mark.parametrize("elsewhere", ["catalog", "product", "menu", "reviews"])
def test_pressing_another_button_ends_the_wait(send, fake_api, press, customer, ann_bought, product, elsewhere):
    press(callbacks.rate_set(product.pk, 3))
    data = {
        "catalog": callbacks.catalog(),
        "product": callbacks.product(product.pk),
        "menu": callbacks.menu(),
        "reviews": callbacks.reviews(product.pk),
    }[elsewhere]
    press(data, message_id=5)  # a button under another message of the bot
    assert NOT_A_REVIEW in body(text_message(send, fake_api, customer, "hello"))  # a search, not a review
    assert Review.objects.get().text == ""


def test_rating_again_keeps_the_wait(send, fake_api, press, customer, ann_bought, product):
    press(callbacks.rate_set(product.pk, 3))
    press(callbacks.rate_set(product.pk, 4))
    assert "is saved" in body(text_message(send, fake_api, customer, "Nice"))
    assert Review.objects.get().text == "Nice"


@pytest.mark.parametrize("waiting", [False, True])
def test_ending_the_wait_keeps_the_common_presses_within_five_queries(
    settings, press_for_screen, press, ann_bought, product, category, waiting
):
    settings.FLOOD_RATE = 0  # many presses in a row
    press_for_screen(callbacks.product(product.pk))  # the customer's record is brought up to date once
    for data in (callbacks.menu(), callbacks.catalog(), callbacks.category(category.pk), callbacks.product(product.pk)):
        press_for_screen(data)  # cached screens are built
        if waiting:
            press(callbacks.rate_set(product.pk, 3))
        with CaptureQueriesContext(connection) as pressed:
            press_for_screen(data)
        assert len(statements(pressed)) <= 5, statements(pressed)
        if not waiting:  # one read at most is added to a press, no write
            assert all(q.startswith("SELECT") for q in statements(pressed)), statements(pressed)
            assert len(statements(pressed)) <= {"menu": 1, "cats": 2, "cat": 2, "prod": 3}[data.split(":")[0]]


def test_a_text_too_long_is_refused_with_the_limit_and_a_shorter_one_kept(send, fake_api, press, customer, ann_bought, product):
    press(callbacks.rate_set(product.pk, 5))
    refused = text_message(send, fake_api, customer, "x" * (TEXT_MAX_LENGTH + 20))
    assert body(refused) == "That is 520 characters; a review may have up to 500. Please send a shorter one."
    assert Review.objects.get().text == ""
    assert "is saved" in body(text_message(send, fake_api, customer, "y" * TEXT_MAX_LENGTH))
    assert Review.objects.get().text == "y" * TEXT_MAX_LENGTH


def test_a_photo_instead_of_text_is_refused_and_the_wait_goes_on(send, fake_api, press, customer, ann_bought, product):
    press(callbacks.rate_set(product.pk, 5))
    refused = text_message(send, fake_api, customer, photo=[{"file_id": "P1", "file_unique_id": "u1", "width": 1, "height": 1}])
    assert body(refused) == "Please send your review as a text message."
    assert "is saved" in body(text_message(send, fake_api, customer, "Nice"))


def test_a_whitespace_only_text_is_refused(send, fake_api, press, customer, ann_bought, product):
    press(callbacks.rate_set(product.pk, 5))
    assert "The review is empty" in body(text_message(send, fake_api, customer, " \u3000 "))
    assert "is saved" in body(text_message(send, fake_api, customer, "Nice"))


def test_a_buyer_refunded_while_writing_is_told_and_nothing_is_saved(send, fake_api, press, customer, ann_bought, product):
    press(callbacks.rate_set(product.pk, 5))
    Purchase.objects.update(status=Purchase.Status.REFUNDED, refunded_at=timezone.now())
    assert NOT_ALLOWED in body(text_message(send, fake_api, customer, "Nice"))
    assert Review.objects.get().text == ""


# --- the list ---


def test_reviews_are_listed_latest_first_five_a_page(press_for_screen, product):
    now = timezone.now()
    for n in range(7):
        reviewed_by(product, n % 5 + 1, f"Text {n}", first_name=f"Buyer{n}", created_at=now - datetime.timedelta(days=n))
    hidden = reviewed_by(product, 1, "HIDDEN SPAM", created_at=now)
    review_hide(review=hidden, reason="Spam")

    first = press_for_screen(callbacks.reviews(product.pk))
    text = body(first)
    assert text.startswith("💬 <b>Reviews of Editor Pro</b>\n★ 2.6 (7)\n\nPage 1 of 2")
    assert [f"Text {n}" in text for n in range(7)] == [True] * 5 + [False] * 2
    assert text.index("Text 0") < text.index("Text 4") and "HIDDEN" not in text
    assert "★☆☆☆☆ Buyer0 · " in text
    assert buttons(first) == [("Next »", callbacks.reviews(product.pk, 2)), ("« Back", callbacks.product(product.pk))]

    second = press_for_screen(callbacks.reviews(product.pk, 2))
    assert "Page 2 of 2" in body(second) and "Text 5" in body(second) and "Text 6" in body(second)
    assert buttons(second) == [("« Previous", callbacks.reviews(product.pk, 1)), ("« Back", callbacks.product(product.pk))]
    assert "★ 2.6 (7)" in body(press_for_screen(button_data(second, "« Back")))


def test_the_list_keeps_the_cards_back(press_for_screen, category, product):
    reviewed_by(product, 4)
    back = callbacks.Back("category", category.pk, 1)
    card = press_for_screen(callbacks.product(product.pk, back))
    listing = press_for_screen(button_data(card, "Reviews"))
    assert button_data(listing, "Back") == callbacks.product(product.pk, back)


def test_review_text_and_name_are_escaped(press_for_screen, product):
    reviewed_by(product, 5, "<b>bold</b> & <script>x</script>", first_name="<i>Eve</i>")
    listing = press_for_screen(callbacks.reviews(product.pk))  # the fake refuses broken HTML with a 400
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; &lt;script&gt;x&lt;/script&gt;" in body(listing)
    assert "&lt;i&gt;Eve&lt;/i&gt;" in body(listing) and "<b>bold" not in body(listing)


def test_longest_reviews_fit_one_message(press_for_screen, product):
    for _n in range(5):
        reviewed_by(product, 5, "&" * TEXT_MAX_LENGTH, first_name="<" * 64)  # every character escaped longer
    assert body(press_for_screen(callbacks.reviews(product.pk))).count("&amp;" * TEXT_MAX_LENGTH) == 5


def test_longest_emoji_reviews_fit_one_message(press_for_screen, product):
    for _n in range(5):
        reviewed_by(product, 5, "😀" * (TEXT_MAX_LENGTH // 2))  # the limit in UTF-16 units, as Telegram counts
    assert body(press_for_screen(callbacks.reviews(product.pk))).count("😀" * (TEXT_MAX_LENGTH // 2)) == 5


def test_a_page_of_reviews_too_long_for_one_message_shows_those_that_fit(press, fake_api, product):
    for _n in range(5):  # written before the limit counted an emoji twice: 1000 UTF-16 units each
        reviewed_by(product, 5, "😀" * TEXT_MAX_LENGTH)
    calls = [c for c in press(callbacks.reviews(product.pk)) if c.method in ("editMessageText", "sendMessage")]
    assert calls and all(c.status == 200 for c in calls), [(c.method, c.status, body(c)[:60]) for c in calls]
    assert 1 <= body(calls[-1]).count("😀" * TEXT_MAX_LENGTH) < 5
    assert "Reviews of" in body(calls[-1])


def test_a_product_without_reviews_lists_none(press_for_screen, product):
    assert body(press_for_screen(callbacks.reviews(product.pk))) == "💬 <b>Editor Pro</b> has no reviews yet."


def test_reviews_of_a_product_taken_off_sale_lead_a_non_buyer_to_the_catalog(press_for_screen, product):
    reviewed_by(product, 4)
    Product.objects.filter(pk=product.pk).update(is_active=False)
    assert body(press_for_screen(callbacks.reviews(product.pk))).startswith("Sorry, this is no longer available.")


# --- the invitation ---


def invitation_tasks():
    return DBTaskResult.objects.filter(task_path=review_invitation_task.module_path)


def test_a_day_after_the_first_delivery_the_buyer_is_invited_once(fake_api, run_due_tasks, press_for_screen, product):
    purchase = PurchaseFactory(user=UserFactory(telegram_id=42), product=product)
    assert deliver_purchase(api_client(), purchase.pk).value == "delivered"
    [task] = invitation_tasks()
    assert task.args_kwargs["args"] == [purchase.pk]
    assert datetime.timedelta(hours=23, minutes=59) < task.run_after - timezone.now() <= datetime.timedelta(hours=24)
    assert run_due_tasks() == 0  # not yet

    purchase_request_delivery(purchase=purchase)  # staff send it again: no second invitation
    run_due_tasks()
    assert invitation_tasks().count() == 1

    invitation_tasks().update(run_after=timezone.now())
    mark = fake_api.mark()
    assert run_due_tasks() == 1
    [invite] = sent_to(fake_api, 42, after=mark)
    assert body(invite) == "How do you like <b>Editor Pro</b>? Rate it to help other customers choose:"
    assert buttons(invite) == [(f"{n} ★", callbacks.rate_set(product.pk, n)) for n in range(1, 6)]
    assert invitation_tasks().get().return_value == "asked"

    second = PurchaseFactory(user=purchase.user, product=product)  # bought again: not asked again
    deliver_purchase(api_client(), second.pk)
    invitation_tasks().update(run_after=timezone.now())
    mark = fake_api.mark()
    run_due_tasks()
    assert sent_to(fake_api, 42, after=mark) == [] and ReviewInvitation.objects.count() == 1

    thanks = press_for_screen(button_data(invite, "5 ★"))  # one tap rates
    assert "You rated <b>Editor Pro</b> ★★★★★" in body(thanks)


@pytest.mark.parametrize("case", ["refunded", "reviewed"])
def test_no_invitation_after_a_refund_or_a_review(fake_api, run_due_tasks, product, case):
    purchase = PurchaseFactory(user=UserFactory(telegram_id=42), product=product)
    deliver_purchase(api_client(), purchase.pk)
    if case == "refunded":
        Purchase.objects.update(status=Purchase.Status.REFUNDED, refunded_at=timezone.now())
    else:
        review_rate(telegram_id=42, product_id=product.pk, rating=5)
    invitation_tasks().update(run_after=timezone.now())
    mark = fake_api.mark()
    assert run_due_tasks() == 1
    assert sent_to(fake_api, 42, after=mark) == []
    assert invitation_tasks().get().return_value == "not asked"


def test_the_invitation_speaks_the_buyers_language_and_a_blocked_buyer_is_marked(fake_api, run_due_tasks, settings, product):
    settings.REVIEW_INVITATION_HOURS = 0
    purchase = PurchaseFactory(user=UserFactory(telegram_id=42, language_code="ru"), product=product)
    deliver_purchase(api_client(), purchase.pk)
    fake_api.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    assert run_due_tasks() == 1
    assert invitation_tasks().get().return_value == "not sent"
    purchase.user.refresh_from_db()
    assert purchase.user.is_blocked


def statements(captured) -> list[str]:
    """The SQL statements run, without the savepoints the test's own transaction turns each atomic block into."""
    return [q["sql"] for q in captured if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]


def test_rating_and_writing_take_at_most_five_queries_each(send, press, customer, ann_bought, product):
    reviewed_by(product, 3)  # the product has its rating row already
    press(callbacks.product(product.pk))  # the customer's record is brought up to date once
    for rating in (4, 2):  # the first rating, then a change
        with CaptureQueriesContext(connection) as rate:
            press(callbacks.rate_set(product.pk, rating))
        assert len(statements(rate)) <= 5, statements(rate)
    with CaptureQueriesContext(connection) as write:
        send(updates.message(customer, "Nice"))
    assert len(statements(write)) <= 5, statements(write)
    assert Review.objects.get(user__telegram_id=42).text == "Nice"


# --- the buttons' data ---

REVIEW_CALLBACKS = [
    (callbacks.reviews(9), callbacks.Parsed("reviews", id=9, page=1)),
    (
        callbacks.reviews(9, 3, callbacks.Back("category", 7, 2)),
        callbacks.Parsed("reviews", id=9, page=3, back=callbacks.Back("category", 7, 2)),
    ),
    (
        callbacks.rate(9, callbacks.Back("purchases", page=4)),
        callbacks.Parsed("rate", id=9, back=callbacks.Back("purchases", page=4)),
    ),
    (callbacks.rate_set(9, 5), callbacks.Parsed("rate_set", id=9, rating=5)),
    (
        callbacks.rate_set(9, 1, callbacks.Back("category", 7, 2)),
        callbacks.Parsed("rate_set", id=9, rating=1, back=callbacks.Back("category", 7, 2)),
    ),
    (callbacks.review_skip(9), callbacks.Parsed("review_skip", id=9)),
]


@pytest.mark.parametrize(("data", "expected"), REVIEW_CALLBACKS, ids=[d for d, _ in REVIEW_CALLBACKS])
def test_review_buttons_parse_back_to_what_they_meant(data, expected):
    assert len(data.encode()) <= 64
    assert callbacks.parse(data) == expected


@pytest.mark.parametrize("data", ["rate:9:0:x", "rate:9:6:x", "rate:9:55:x", "revs:9:0:x", "rate:0:x", "rskip:9", "revs:9:1"])
def test_malformed_review_buttons_are_refused(data):
    assert callbacks.parse(data) is None


@pytest.mark.parametrize("data", ["rate:999999:x", "rate:999999:5:x", "revs:999999:1:x", "rskip:999999:x"])
def test_review_buttons_of_a_product_that_does_not_exist_change_nothing(press, data):
    calls = press(data)
    assert callback_answers(calls) in (["Sorry, this is no longer available."], [NOT_ALLOWED])
    assert not Review.objects.exists()


def test_a_card_at_telegrams_limit_keeps_its_text_and_still_offers_reviews(press_for_screen, category):
    full = ProductFactory(category=category, name="Full", description="x")
    reviewed_by(full, 5)
    room = 4096 - len(english(lambda: texts.product_card(full, owned=False))) - 2
    Product.objects.filter(pk=full.pk).update(description="x" * (room + 1))  # 2 characters short of the limit
    card = press_for_screen(callbacks.product(full.pk))  # the fake refuses a text over 4096 characters
    assert len(body(card)) == 4094 and "★" not in body(card)  # the rating line would not fit: left out
    assert button_data(card, "Reviews (1)") == callbacks.reviews(full.pk)


@pytest.mark.parametrize("reviews", [3, 40])
def test_a_page_of_reviews_takes_at_most_five_queries_however_many(
    press_for_screen, product, reviews, django_assert_max_num_queries
):
    for n in range(reviews):
        reviewed_by(product, n % 5 + 1, f"Text {n}")
    press_for_screen(callbacks.product(product.pk))  # the customer's record is brought up to date once
    with django_assert_max_num_queries(5):
        listing = press_for_screen(callbacks.reviews(product.pk, 2))
    assert body(listing).count("Text ") == (5 if reviews > 5 else reviews)  # page 2, or the last one there is
