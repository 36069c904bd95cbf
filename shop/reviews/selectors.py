"""Reads of reviews: a product's rating (one row, not a sum over its reviews), its latest visible reviews, a
buyer's own review, whether they may write one, and whether the bot waits for a review's text."""

from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone

from shop.models import Purchase
from shop.reviews.models import ProductRating, Review, ReviewWait


@dataclass(frozen=True)
class RatingSummary:
    average: float  # of the visible reviews
    count: int


def rating_summary(*, product_id: int) -> RatingSummary | None:
    """The product's average rating and how many visible reviews give it; None without any (one query)."""
    row = ProductRating.objects.filter(product_id=product_id).values_list("rating_sum", "rating_count").first()
    if row is None or row[1] <= 0:
        return None
    return RatingSummary(average=row[0] / row[1], count=row[1])


def review_list_visible(*, product_id: int) -> QuerySet[Review]:
    """The product's reviews that staff have not hidden, latest first, with their authors."""
    return Review.objects.filter(product_id=product_id, hidden=False).select_related("user").order_by("-created_at", "-id")


def review_of(*, telegram_id: int, product_id: int) -> Review | None:
    """The customer's own review of the product (also when staff hid it)."""
    return Review.objects.filter(user__telegram_id=telegram_id, product_id=product_id).first()


def review_allowed(*, telegram_id: int, product_id: int) -> bool:
    """The customer may review the product: a purchase of theirs gives it to them."""
    return Purchase.objects.giving_access().filter(user__telegram_id=telegram_id, product_id=product_id).exists()


def review_wait_accepts(*, telegram_id: int) -> bool:
    """The customer's next message is the text of a review (they have just rated a product)."""
    return ReviewWait.objects.filter(telegram_id=telegram_id, expires_at__gt=timezone.now()).exists()
