"""Reviews of products by their buyers, the rating each product has from them, and the bot's waits and
invitations around writing one."""

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shop.models import Product, User

RATING_MIN, RATING_MAX = 1, 5
TEXT_MAX_LENGTH = 500  # in UTF-16 units, as Telegram counts: a page of the bot's review list holds several in one message (4096)


class Review(models.Model):
    """A buyer's rating of a product (1-5) and their optional text; one per buyer and product."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="reviews", verbose_name=_("customer"))
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="reviews", verbose_name=_("product"))
    rating = models.PositiveSmallIntegerField(_("rating"))
    text = models.TextField(_("text"), max_length=TEXT_MAX_LENGTH, blank=True, help_text=_("Plain text, as the buyer wrote it."))
    hidden = models.BooleanField(_("hidden"), default=False, help_text=_("Hidden reviews are neither shown nor counted."))
    hidden_reason = models.CharField(_("why hidden"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("written"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("changed"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "product"], name="review_one_per_buyer_and_product"),
            models.CheckConstraint(condition=Q(rating__gte=RATING_MIN, rating__lte=RATING_MAX), name="review_rating_1_to_5"),
            models.CheckConstraint(condition=LessThanOrEqual(Length("text"), TEXT_MAX_LENGTH), name="review_text_length"),
            models.CheckConstraint(condition=Q(hidden=True) | Q(hidden_reason=""), name="review_reason_only_when_hidden"),
            models.CheckConstraint(condition=Q(hidden=False) | ~Q(hidden_reason=""), name="review_hidden_has_reason"),
        ]
        indexes = [
            # a product's latest visible reviews, a page at a time
            models.Index(fields=["product", "-created_at", "-id"], condition=Q(hidden=False), name="review_visible_latest"),
        ]

    def __str__(self):
        return f"{self.product} ★{self.rating} ({self.user})"


class ProductRating(models.Model):
    """What a product's visible reviews add up to: the card shows rating_sum / rating_count without reading them."""

    product = models.OneToOneField(
        Product, on_delete=models.CASCADE, primary_key=True, related_name="rating", verbose_name=_("product")
    )
    rating_sum = models.PositiveIntegerField(_("sum of ratings"), default=0)
    rating_count = models.PositiveIntegerField(_("number of ratings"), default=0)

    class Meta:
        verbose_name = _("product rating")
        verbose_name_plural = _("product ratings")
        constraints = [
            models.CheckConstraint(
                condition=Q(rating_sum__gte=F("rating_count") * RATING_MIN, rating_sum__lte=F("rating_count") * RATING_MAX),
                name="productrating_sum_fits_count",
            ),
        ]

    def __str__(self):
        return f"{self.product}: {self.rating_sum}/{self.rating_count}"


class ReviewWait(models.Model):
    """A buyer has just rated a product: their next message (until `expires_at`) is the review's text."""

    telegram_id = models.BigIntegerField(unique=True)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField()

    def __str__(self):
        return f"{self.telegram_id} → {self.product_id} until {self.expires_at:%Y-%m-%d %H:%M}"


class ReviewInvitation(models.Model):
    """The bot asked this buyer to rate this product (once, however often they buy it)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "product"], name="reviewinvitation_once")]

    def __str__(self):
        return f"{self.user} → {self.product}"
