"""Reviews in the shop: who may review, one review per buyer and product (editable), the text's limits, staff
hiding reviews, and the product's rating kept equal to its visible reviews (also under threads)."""

import contextlib
import datetime
import threading

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Avg, Count
from django.utils import timezone

from shop.models import Purchase
from shop.reviews.models import TEXT_MAX_LENGTH, ProductRating, Review, ReviewInvitation, ReviewWait
from shop.reviews.selectors import rating_summary, review_allowed, review_list_visible, review_wait_accepts
from shop.reviews.services import (
    REFUNDED_REASON,
    ReviewNotAllowed,
    ReviewTextEmpty,
    ReviewTextTooLong,
    review_hide,
    review_invitation_claim,
    review_rate,
    review_show,
    review_text_save,
    review_wait_cancel,
    review_wait_start,
)
from shop.services.payments import purchase_mark_refunded
from shop.testing.concurrency import run_at_once
from shop.testing.factories import ProductFactory, PurchaseFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def product():
    return ProductFactory(name="Editor Pro")


def bought(user, product, **fields) -> Purchase:
    return PurchaseFactory(user=user, product=product, **fields)


def counted(product) -> tuple[int, int]:
    rating = ProductRating.objects.filter(product=product).first()
    return (rating.rating_sum, rating.rating_count) if rating else (0, 0)


def visible_truth(product) -> tuple[int, int]:
    """What the product's visible reviews really add up to."""
    reviews = Review.objects.filter(product=product, hidden=False)
    return sum(r.rating for r in reviews), reviews.count()


# --- who may review ---


def test_a_buyer_rates_a_product(ann, product):
    bought(ann, product)
    review = review_rate(telegram_id=ann.telegram_id, product_id=product.pk, rating=4)
    assert (review.user, review.product, review.rating, review.text, review.hidden) == (ann, product, 4, "", False)
    assert rating_summary(product_id=product.pk).average == 4.0
    assert rating_summary(product_id=product.pk).count == 1


@pytest.mark.parametrize(
    "purchase",
    [
        None,
        {"refunded": True},
        {"review_reason": "amount differs"},  # a payment staff must check first gives nothing yet
    ],
    ids=["never bought", "refunded", "under review"],
)
def test_only_a_buyer_who_kept_the_product_may_review_it(ann, product, purchase):
    if purchase is not None:
        bought(ann, product, **purchase)
    bought(UserFactory(), product)  # someone else's purchase does not count
    assert not review_allowed(telegram_id=ann.telegram_id, product_id=product.pk)
    with pytest.raises(ReviewNotAllowed):
        review_rate(telegram_id=ann.telegram_id, product_id=product.pk, rating=5)
    assert not Review.objects.exists() and rating_summary(product_id=product.pk) is None


def test_a_buyer_of_another_product_may_not_review_this_one(ann, product):
    bought(ann, ProductFactory())
    with pytest.raises(ReviewNotAllowed):
        review_rate(telegram_id=ann.telegram_id, product_id=product.pk, rating=5)


def test_one_refunded_purchase_and_one_kept_still_allow_a_review(ann, product):
    bought(ann, product, refunded=True)
    bought(ann, product)
    assert review_rate(telegram_id=ann.telegram_id, product_id=product.pk, rating=3).rating == 3


@pytest.mark.parametrize("rating", [0, 6, -1])
def test_a_rating_is_from_1_to_5(ann, product, rating):
    bought(ann, product)
    with pytest.raises(Exception, match="1 to 5"):
        review_rate(telegram_id=ann.telegram_id, product_id=product.pk, rating=rating)
    assert not Review.objects.exists()


# --- one review per buyer and product, editable ---


def test_rating_again_edits_the_one_review_and_the_average(ann, bob, product):
    bought(ann, product)
    bought(ann, product)  # bought twice: still one review
    bought(bob, product)
    first = review_rate(telegram_id=ann.telegram_id, product_id=product.pk, rating=2)
    review_rate(telegram_id=bob.telegram_id, product_id=product.pk, rating=5)
    again = review_rate(telegram_id=ann.telegram_id, product_id=product.pk, rating=4)
    assert again.pk == first.pk and Review.objects.filter(user=ann).count() == 1
    assert Review.objects.get(pk=first.pk).rating == 4
    assert rating_summary(product_id=product.pk).average == 4.5
    assert counted(product) == visible_truth(product) == (9, 2)


def test_rating_again_keeps_the_text(ann, product):
    bought(ann, product)
    review_rate(telegram_id=ann.telegram_id, product_id=product.pk, rating=2)
    review_wait_start(telegram_id=ann.telegram_id, product_id=product.pk)
    review_text_save(telegram_id=ann.telegram_id, text="Slow start")
    review_rate(telegram_id=ann.telegram_id, product_id=product.pk, rating=5)
    assert Review.objects.get().text == "Slow start"


def test_the_database_refuses_a_second_review_and_ratings_out_of_range(ann, product):
    Review.objects.create(user=ann, product=product, rating=3)
    for fields in [
        {"user": ann, "product": product, "rating": 4},
        {"user": UserFactory(), "product": product, "rating": 6},
        {"user": UserFactory(), "product": product, "rating": 0},
        {"user": UserFactory(), "product": product, "rating": 3, "hidden": True},  # hidden without a reason
        {"user": UserFactory(), "product": product, "rating": 3, "text": "x" * (TEXT_MAX_LENGTH + 1)},
    ]:
        with pytest.raises(IntegrityError), transaction.atomic():
            Review.objects.create(**fields)


def test_the_database_refuses_a_rating_sum_that_does_not_fit_its_count(product):
    with pytest.raises(IntegrityError), transaction.atomic():
        ProductRating.objects.create(product=product, rating_sum=11, rating_count=2)


def test_ten_buyers_rating_at_once_all_count(product, transactional_db):
    buyers = [bought(UserFactory(), product).user for _ in range(10)]
    run_at_once(lambda i: review_rate(telegram_id=buyers[i].telegram_id, product_id=product.pk, rating=i % 5 + 1), 10)
    assert counted(product) == visible_truth(product) == (30, 10)


def test_one_buyer_rating_twice_at_once_leaves_one_review(ann, product, transactional_db):
    bought(ann, product)
    run_at_once(lambda i: review_rate(telegram_id=ann.telegram_id, product_id=product.pk, rating=i + 4), 2)
    review = Review.objects.get()
    assert counted(product) == (review.rating, 1)


# --- the text ---


def rate_and_wait(user, product, rating=4) -> Review:
    bought(user, product)
    review = review_rate(telegram_id=user.telegram_id, product_id=product.pk, rating=rating)
    review_wait_start(telegram_id=user.telegram_id, product_id=product.pk)
    return review


def test_the_awaited_message_is_the_review_text_trimmed(ann, product):
    rate_and_wait(ann, product)
    assert review_wait_accepts(telegram_id=ann.telegram_id)
    review = review_text_save(telegram_id=ann.telegram_id, text="  Great <b>editor</b> \n")
    assert review.text == "Great <b>editor</b>"  # kept as written: plain text, escaped where shown
    assert not review_wait_accepts(telegram_id=ann.telegram_id)
    assert review_text_save(telegram_id=ann.telegram_id, text="Another") is None  # the wait is over
    assert Review.objects.get().text == "Great <b>editor</b>"


def test_a_text_of_exactly_the_limit_is_kept(ann, product):
    rate_and_wait(ann, product)
    assert len(review_text_save(telegram_id=ann.telegram_id, text="é" * TEXT_MAX_LENGTH).text) == TEXT_MAX_LENGTH


def test_a_text_over_the_limit_is_refused_and_the_wait_goes_on(ann, product):
    rate_and_wait(ann, product)
    with pytest.raises(ReviewTextTooLong) as refused:
        review_text_save(telegram_id=ann.telegram_id, text="x" * (TEXT_MAX_LENGTH + 1))
    assert refused.value.length == TEXT_MAX_LENGTH + 1
    assert "up to 500 characters; this one has 501" in refused.value.messages[0]
    assert Review.objects.get().text == "" and review_wait_accepts(telegram_id=ann.telegram_id)
    assert review_text_save(telegram_id=ann.telegram_id, text="Short").text == "Short"


def test_the_limit_counts_as_telegram_does_an_emoji_twice(ann, product):
    # Telegram counts UTF-16 units: 500 emoji are 1000, and five such reviews overflow one message
    rate_and_wait(ann, product)
    with pytest.raises(ReviewTextTooLong) as refused:
        review_text_save(telegram_id=ann.telegram_id, text="😀" * (TEXT_MAX_LENGTH // 2 + 1))
    assert refused.value.length == TEXT_MAX_LENGTH + 2
    assert review_text_save(telegram_id=ann.telegram_id, text="😀" * (TEXT_MAX_LENGTH // 2)).text == "😀" * 250


@pytest.mark.parametrize("text", ["", "   ", "\n\t ", None])
def test_an_empty_text_is_refused_and_the_wait_goes_on(ann, product, text):
    rate_and_wait(ann, product)
    with pytest.raises(ReviewTextEmpty):
        review_text_save(telegram_id=ann.telegram_id, text=text)
    assert review_wait_accepts(telegram_id=ann.telegram_id)


def test_text_without_a_wait_or_after_it_ran_out_is_not_a_review(ann, product):
    rate_and_wait(ann, product)
    review_wait_cancel(telegram_id=ann.telegram_id)
    assert review_text_save(telegram_id=ann.telegram_id, text="Late") is None
    review_wait_start(telegram_id=ann.telegram_id, product_id=product.pk)
    ReviewWait.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert not review_wait_accepts(telegram_id=ann.telegram_id)
    assert review_text_save(telegram_id=ann.telegram_id, text="Late") is None
    assert Review.objects.get().text == "" and not ReviewWait.objects.exists()


def test_a_buyer_refunded_while_writing_cannot_save_the_text(ann, product):
    rate_and_wait(ann, product)
    Purchase.objects.update(status=Purchase.Status.REFUNDED, refunded_at=timezone.now())
    with pytest.raises(ReviewNotAllowed):
        review_text_save(telegram_id=ann.telegram_id, text="Hello")
    assert Review.objects.get().text == "" and not ReviewWait.objects.exists()


def test_nul_characters_are_made_storable(ann, product):
    rate_and_wait(ann, product)
    assert review_text_save(telegram_id=ann.telegram_id, text="a\x00b").text == "a\ufffdb"


# --- staff hide reviews ---


def test_a_hidden_review_is_neither_listed_nor_counted_and_shown_again_counts_again(ann, bob, product):
    hidden = rate_and_wait(ann, product, rating=1)
    rate_and_wait(bob, product, rating=5)
    review_hide(review=hidden, reason="Spam")
    review_hide(review=hidden, reason="Spam, really")  # twice: taken away once
    assert Review.objects.get(pk=hidden.pk).hidden_reason == "Spam, really"
    assert list(review_list_visible(product_id=product.pk).values_list("user", flat=True)) == [bob.pk]
    assert counted(product) == visible_truth(product) == (5, 1)
    review_rate(telegram_id=ann.telegram_id, product_id=product.pk, rating=2)  # editing a hidden review
    assert counted(product) == (5, 1)
    review_show(review=hidden)
    review_show(review=hidden)
    assert counted(product) == visible_truth(product) == (7, 2)
    assert Review.objects.get(pk=hidden.pk).hidden_reason == ""


@pytest.mark.parametrize("reason", ["", "   "])
def test_hiding_needs_a_reason(ann, product, reason):
    review = rate_and_wait(ann, product)
    with pytest.raises(Exception, match="why"):
        review_hide(review=review, reason=reason)
    assert not Review.objects.get().hidden and counted(product) == (4, 1)


def test_the_average_matches_the_visible_reviews_after_any_mix_of_changes(product):
    buyers = [UserFactory() for _ in range(6)]
    reviews = {}
    for step in range(40):
        user = buyers[step * 7 % 6]
        if user.pk not in reviews:
            bought(user, product)
        reviews[user.pk] = review_rate(telegram_id=user.telegram_id, product_id=product.pk, rating=step * 3 % 5 + 1)
        if step % 5 == 0:
            review_hide(review=reviews[user.pk], reason="check")
        if step % 7 == 0:
            review_show(review=reviews[user.pk])
    expected = Review.objects.filter(product=product, hidden=False).aggregate(avg=Avg("rating"), n=Count("id"))
    summary = rating_summary(product_id=product.pk)
    assert counted(product) == visible_truth(product)
    assert (round(summary.average, 6), summary.count) == (round(expected["avg"], 6), expected["n"])


def test_the_summary_is_one_query(ann, product, django_assert_num_queries):
    rate_and_wait(ann, product)
    with django_assert_num_queries(1):
        rating_summary(product_id=product.pk)


# --- the invitation ---


def test_a_buyer_is_invited_once_per_product(ann, product):
    first, second = bought(ann, product), bought(ann, product)
    assert review_invitation_claim(purchase_id=first.pk) == first
    assert review_invitation_claim(purchase_id=first.pk) is None
    assert review_invitation_claim(purchase_id=second.pk) is None
    assert ReviewInvitation.objects.count() == 1


@pytest.mark.parametrize("case", ["refunded", "reviewed", "blocked", "under review"])
def test_no_invitation_for_a_refund_a_review_already_written_or_a_blocked_buyer(ann, product, case):
    purchase = bought(
        ann, product, **({"refunded": True} if case == "refunded" else {"review_reason": "x"} if case == "under review" else {})
    )
    if case == "reviewed":
        review_rate(telegram_id=ann.telegram_id, product_id=product.pk, rating=5)
    if case == "blocked":
        ann.is_blocked = True
        ann.save()
    assert review_invitation_claim(purchase_id=purchase.pk) is None
    assert not ReviewInvitation.objects.exists()


# --- refunds ---


def test_a_refund_hides_the_buyers_review_and_it_no_longer_counts(ann, bob, product):
    refunded = bought(ann, product, payment_id="charge-ann")
    bought(bob, product, payment_id="charge-bob")
    review_rate(telegram_id=ann.telegram_id, product_id=product.pk, rating=1)
    review_rate(telegram_id=bob.telegram_id, product_id=product.pk, rating=5)

    purchase_mark_refunded(payment_id=refunded.payment_id)

    review = Review.objects.get(user=ann)
    assert (review.hidden, review.hidden_reason) == (True, REFUNDED_REASON)
    assert counted(product) == visible_truth(product) == (5, 1)
    assert rating_summary(product_id=product.pk).average == 5.0


def test_a_refund_keeps_the_review_of_a_buyer_who_still_has_the_product(ann, product):
    refunded = bought(ann, product, payment_id="charge-1")
    bought(ann, product, payment_id="charge-2")
    review_rate(telegram_id=ann.telegram_id, product_id=product.pk, rating=4)

    purchase_mark_refunded(payment_id=refunded.payment_id)

    assert Review.objects.get(user=ann).hidden is False
    assert counted(product) == (4, 1)


def test_a_refund_arriving_while_the_rating_is_written_hides_the_review(ann, product, monkeypatch, transactional_db):
    from shop.reviews import services

    purchase = bought(ann, product, payment_id="charge-race")
    check = services._owning_purchase

    def refund() -> None:
        try:
            purchase_mark_refunded(payment_id=purchase.payment_id)
        finally:
            connection.close()

    refunding = threading.Thread(target=refund)

    def check_then_refund(**kwargs):
        found = check(**kwargs)
        refunding.start()  # another worker's refund, right after the rating found the purchase
        refunding.join(timeout=1)  # done by now, unless the rating holds the purchase
        return found

    monkeypatch.setattr(services, "_owning_purchase", check_then_refund)
    with contextlib.suppress(ReviewNotAllowed):
        review_rate(telegram_id=ann.telegram_id, product_id=product.pk, rating=1)
    refunding.join(timeout=30)

    assert Purchase.objects.get(pk=purchase.pk).status == Purchase.Status.REFUNDED
    assert not Review.objects.filter(hidden=False).exists()
    assert rating_summary(product_id=product.pk) is None


def test_ratings_racing_refunds_never_leave_a_refunded_buyers_review_counted(product, transactional_db):
    buyers = [UserFactory() for _ in range(6)]
    purchases = [bought(user, product, payment_id=f"charge-{i}") for i, user in enumerate(buyers)]

    def rate_or_refund(i: int) -> None:
        if i % 2:
            purchase_mark_refunded(payment_id=purchases[i // 2].payment_id)
        else:
            with contextlib.suppress(ReviewNotAllowed):  # the refund came first
                review_rate(telegram_id=buyers[i // 2].telegram_id, product_id=product.pk, rating=1)

    run_at_once(rate_or_refund, 12)
    assert not Review.objects.filter(hidden=False).exists()
    assert counted(product) == visible_truth(product) == (0, 0)


def test_a_buyer_who_buys_again_after_a_refund_is_counted_again_when_rating(ann, bob, product):
    first = bought(ann, product, payment_id="charge-1")
    bought(bob, product, payment_id="charge-bob")
    review_rate(telegram_id=ann.telegram_id, product_id=product.pk, rating=2)
    review_rate(telegram_id=bob.telegram_id, product_id=product.pk, rating=4)
    purchase_mark_refunded(payment_id=first.payment_id)
    bought(ann, product, payment_id="charge-2")  # bought again: owns it now

    review = review_rate(telegram_id=ann.telegram_id, product_id=product.pk, rating=5)

    assert (review.hidden, review.hidden_reason) == (False, "")
    assert counted(product) == visible_truth(product) == (9, 2)
    assert [r.pk for r in review_list_visible(product_id=product.pk)].count(review.pk) == 1


def test_a_review_staff_hid_stays_hidden_when_its_buyer_rates_again(ann, product):
    bought(ann, product)
    review = review_rate(telegram_id=ann.telegram_id, product_id=product.pk, rating=2)
    review_hide(review=review, reason="Spam")

    review = review_rate(telegram_id=ann.telegram_id, product_id=product.pk, rating=5)

    assert (review.hidden, review.hidden_reason) == (True, "Spam")
    assert counted(product) == visible_truth(product) == (0, 0)
