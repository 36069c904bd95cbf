"""Writes of reviews: a buyer's rating and text, staff hiding and showing reviews, the product's rating kept
with them, the bot's wait for a review's text, and its one invitation to review.

Who may review is decided here, not by which buttons the bot shows: a buyer whose purchase still gives them
the product (paid, not refunded, nothing for staff to check). The product's `ProductRating` changes in the
same transaction as the review, by F() expressions, so two reviews at once both count.
"""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from shop.models import Purchase
from shop.models.base import storable_string
from shop.reviews.models import RATING_MAX, RATING_MIN, TEXT_MAX_LENGTH, ProductRating, Review, ReviewInvitation, ReviewWait
from shop.telegram_html import escape, visible_length
from shop.waits import wait_hint_set, wait_hint_take

# Why a review was hidden when its writer's purchase was refunded (staff may show it again).
REFUNDED_REASON = "Refunded: the writer no longer has the product"
# How long the bot waits for a review's text after the rating.
WAIT = timedelta(minutes=10)


class ReviewNotAllowed(ValidationError):
    """Only a buyer whose purchase still gives them the product may review it."""

    def __init__(self):
        super().__init__(_("Only customers who bought this product (and kept it) can review it."), code="not_a_buyer")


class ReviewTextTooLong(ValidationError):
    def __init__(self, length: int):
        self.length = length
        super().__init__(
            _("A review may have up to %(limit)d characters; this one has %(length)d.")
            % {"limit": TEXT_MAX_LENGTH, "length": length},
            code="too_long",
        )


class ReviewTextEmpty(ValidationError):
    def __init__(self):
        super().__init__(_("The review has no text."), code="empty")


def _owning_purchase(*, telegram_id: int, product_id: int) -> Purchase | None:
    """A purchase (with its product) that gives the customer the product, if any (one query).

    In a transaction, the purchases giving it stay locked until it ends: a refund (its UPDATE of one of them)
    committed before is seen here, one coming later waits for the transaction, and what the refund takes
    back (e.g. the review written meanwhile) it sees then. All of them are locked, not the first only: with
    a LIMIT, PostgreSQL drops a row refunded while it waited instead of going on to the next."""
    owned = Purchase.objects.giving_access().filter(user__telegram_id=telegram_id, product_id=product_id)
    owned = owned.select_for_update(of=("self",)).select_related("product").order_by("pk")
    return next(iter(owned), None)


def _owned_by_reviewer():
    """For a Review queryset: its buyer still has the product."""
    return Exists(Purchase.objects.giving_access().filter(user_id=OuterRef("user_id"), product_id=OuterRef("product_id")))


def _rating_add(*, product_id: int, points: int, count: int) -> None:
    """Add to the product's rating sum and count (negative to take away), in the caller's transaction."""
    if ProductRating.objects.filter(product_id=product_id).update(
        rating_sum=F("rating_sum") + points, rating_count=F("rating_count") + count
    ):
        return
    try:
        with transaction.atomic():  # the product's first review
            ProductRating.objects.create(product_id=product_id, rating_sum=points, rating_count=count)
    except IntegrityError:  # another first review made the row meanwhile
        ProductRating.objects.filter(product_id=product_id).update(
            rating_sum=F("rating_sum") + points, rating_count=F("rating_count") + count
        )


def review_text_clean(text: str | None) -> str:
    """A review's text as it is kept: plain, trimmed, storable; empty when only whitespace was sent.
    Its length is counted as Telegram counts a message's, so a page of the longest reviews fits one message."""
    text = storable_string(text or "").strip()
    length = visible_length(escape(text))  # as Telegram counts it (UTF-16 units: an emoji is 2)
    if length > TEXT_MAX_LENGTH:
        raise ReviewTextTooLong(length)
    return text


def review_rate(*, telegram_id: int, product_id: int, rating: int) -> Review:
    """The buyer's rating of the product: their review is made, or its rating changed (the text stays).
    The review comes with its product."""
    if not RATING_MIN <= rating <= RATING_MAX:
        raise ValidationError(_("A rating is from 1 to 5."), code="rating")
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                # checked in the transaction that writes, with the purchase locked (a refund racing the rating)
                purchase = _owning_purchase(telegram_id=telegram_id, product_id=product_id)
                if purchase is None:
                    raise ReviewNotAllowed()
                review = _rate(user_id=purchase.user_id, product_id=product_id, rating=rating)
        except IntegrityError:
            if attempt == 2:
                raise
        else:
            review.product = purchase.product
            return review
    raise AssertionError("unreachable")


def _rate(*, user_id: int, product_id: int, rating: int) -> Review:
    review = Review.objects.select_for_update().filter(user_id=user_id, product_id=product_id).first()
    if review is None:
        # two first ratings at once: the second insert fails on the unique constraint and is tried again as a change
        review = Review.objects.create(user_id=user_id, product_id=product_id, rating=rating)
        _rating_add(product_id=product_id, points=rating, count=1)
        return review
    if review.hidden and review.hidden_reason == REFUNDED_REASON:
        # hidden by a refund, and bought again since: shown and counted again (staff-hidden ones stay hidden)
        _rating_add(product_id=product_id, points=rating, count=1)
        review.hidden, review.hidden_reason = False, ""
        review.rating = rating
        review.updated_at = timezone.now()
        review.save(update_fields=["hidden", "hidden_reason", "rating", "updated_at"])
    elif review.rating != rating:
        if not review.hidden:
            _rating_add(product_id=product_id, points=rating - review.rating, count=0)
        review.rating = rating
        review.updated_at = timezone.now()
        review.save(update_fields=["rating", "updated_at"])
    return review


def review_wait_start(*, telegram_id: int, product_id: int) -> None:
    """The buyer's next message (within WAIT) is the text of their review of the product (one upsert)."""
    ReviewWait.objects.bulk_create(
        [ReviewWait(telegram_id=telegram_id, product_id=product_id, expires_at=timezone.now() + WAIT)],
        update_conflicts=True,
        unique_fields=["telegram_id"],
        update_fields=["product_id", "expires_at"],
    )
    wait_hint_set("review", telegram_id, WAIT)


def review_wait_cancel(*, telegram_id: int) -> bool:
    """The buyer skipped the text, or moved on (a command, another button); False if nothing was waiting.
    Usually nothing waits: then no query at all (shop.waits)."""
    if not wait_hint_take("review", telegram_id):
        return False
    return ReviewWait.objects.filter(telegram_id=telegram_id).delete()[0] > 0


def review_text_save(*, telegram_id: int, text: str | None) -> Review | None:
    """The awaited text of the buyer's review (returned with its product); None if nothing waited for it.

    Too long, or only whitespace: ReviewTextTooLong or ReviewTextEmpty, and the wait goes on (the buyer can
    send another, or skip). No longer a buyer (refunded meanwhile): ReviewNotAllowed, and the wait ends.
    A customer's updates are handled one at a time, so the wait needs no lock.
    """
    text = review_text_clean(text)
    if not text:
        raise ReviewTextEmpty()
    awaited = ReviewWait.objects.filter(telegram_id=telegram_id, expires_at__gt=timezone.now()).values("product_id")
    review = (
        Review.objects.filter(user__telegram_id=telegram_id, product_id__in=awaited)
        .annotate(allowed=_owned_by_reviewer())
        .select_related("product")
        .first()
    )
    if review is not None and review.allowed:
        review.text = text
        review.updated_at = timezone.now()
        review.save(update_fields=["text", "updated_at"])
    ReviewWait.objects.filter(telegram_id=telegram_id).delete()  # it was there: no need to look first
    if review is not None and not review.allowed:
        raise ReviewNotAllowed()
    return review


def review_hide(*, review: Review, reason: str) -> Review:
    """Staff hide a review (it is no longer shown or counted); the reason is kept with it."""
    reason = storable_string(reason or "").strip()[: Review._meta.get_field("hidden_reason").max_length]
    if not reason:
        raise ValidationError(_("Say why the review is hidden."), code="reason")
    with transaction.atomic():
        review = Review.objects.select_for_update().get(pk=review.pk)
        if not review.hidden:
            _rating_add(product_id=review.product_id, points=-review.rating, count=-1)
        review.hidden, review.hidden_reason = True, reason
        review.save(update_fields=["hidden", "hidden_reason"])
    return review


def review_show(*, review: Review) -> Review:
    """Staff show a hidden review again: it counts again."""
    with transaction.atomic():
        review = Review.objects.select_for_update().get(pk=review.pk)
        if review.hidden:
            _rating_add(product_id=review.product_id, points=review.rating, count=1)
        review.hidden, review.hidden_reason = False, ""
        review.save(update_fields=["hidden", "hidden_reason"])
    return review


def review_invitation_claim(*, purchase_id: int) -> Purchase | None:
    """The purchase (with its user and product) if its buyer is to be asked for a review now, recorded so
    nobody asks again; None if the purchase no longer gives the product, the buyer blocked the bot, has
    reviewed it already, or was asked before (for this product, by any purchase)."""
    purchase = Purchase.objects.giving_access().select_related("user", "product").filter(pk=purchase_id).first()
    if purchase is None or purchase.user.is_blocked:
        return None
    if Review.objects.filter(user_id=purchase.user_id, product_id=purchase.product_id).exists():
        return None
    try:
        with transaction.atomic():
            ReviewInvitation.objects.create(user_id=purchase.user_id, product_id=purchase.product_id)
    except IntegrityError:
        return None
    return purchase


def review_withdraw_after_refund(*, purchase_id: int) -> Review | None:
    """A refunded buyer who no longer has the product: their review is hidden (no longer shown or counted);
    the hidden review is returned, None if there was nothing to hide."""
    purchase = Purchase.objects.filter(pk=purchase_id).first()
    if purchase is None:
        return None
    if Purchase.objects.giving_access().filter(user_id=purchase.user_id, product_id=purchase.product_id).exists():
        return None  # another purchase of theirs still gives them the product
    review = Review.objects.filter(user_id=purchase.user_id, product_id=purchase.product_id, hidden=False).first()
    if review is None:
        return None
    return review_hide(review=review, reason=REFUNDED_REASON)
