"""The reviews' answer to what happens elsewhere in the shop (see shop.signals)."""

from django.dispatch import receiver

from shop import signals
from shop.reviews.services import review_withdraw_after_refund


@receiver(signals.purchase_refunded, dispatch_uid="reviews-withdraw-after-refund")
def withdraw_review_after_refund(sender, *, purchase_id: int, **kwargs) -> None:
    review_withdraw_after_refund(purchase_id=purchase_id)
