"""Deliveries: which worker hands a purchase over, and what came of it.

A delivery is claimed before anything is sent (a conditional update only one worker can win), so two
workers that see the same payment deliver it once; a claim whose worker died runs out.
"""

import os
import socket
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from shop import signals
from shop.access.services import access_period_ensure
from shop.models import Purchase
from shop.stock.services import OUT_OF_STOCK, OutOfStock, stock_fill

# A delivery that started this long ago without finishing is taken to have died with its process.
DELIVERY_CLAIM_TIMEOUT = timedelta(minutes=5)


def delivery_claimer(pid: int | None = None) -> str:
    """Who holds a delivery claim: this host and process (or process `pid` of this host)."""
    return f"{socket.gethostname()}:{pid or os.getpid()}"[:100]


def purchase_claim_delivery(*, purchase_id: int, again: bool = False) -> Purchase | None:
    """Take the delivery of a purchase; None if it is not to be delivered, or another worker has it.

    The conditional update lets exactly one worker win, on SQLite and on PostgreSQL alike.
    """
    now = timezone.now()
    claimable = (
        Purchase.objects.giving_access()
        .filter(pk=purchase_id)
        .filter(Q(delivery_claimed_at__isnull=True) | Q(delivery_claimed_at__lt=now - DELIVERY_CLAIM_TIMEOUT))
    )
    if not again:
        claimable = claimable.filter(delivered_at__isnull=True)
    if not claimable.update(delivery_claimed_at=now, delivery_claimed_by=delivery_claimer()):
        return None
    return Purchase.objects.select_related("product", "user").get(pk=purchase_id)


def purchase_release_delivery_claims(*, before) -> int:
    """Free deliveries claimed before `before` and never finished: their worker is gone."""
    return Purchase.objects.filter(delivery_claimed_at__lt=before, delivered_at__isnull=True).update(delivery_claimed_at=None)


def purchase_release_delivery_claims_of(*, claimer: str) -> int:
    """Free the deliveries a process that is gone (`claimer`, see delivery_claimer) held and never finished."""
    return Purchase.objects.filter(
        delivery_claimed_by=claimer, delivery_claimed_at__isnull=False, delivered_at__isnull=True
    ).update(delivery_claimed_at=None)


def purchase_delivery_pending(*, purchase_id: int) -> bool:
    """Still to be delivered (e.g. while another worker's claim runs out)."""
    return Purchase.objects.giving_access().filter(pk=purchase_id, delivered_at__isnull=True).exists()


def purchase_mark_delivered(*, purchase: Purchase) -> None:
    """The content reached the buyer; the first time, `purchase_delivered` is announced (a review invitation follows).

    No transaction around the mark and the announcement: what follows a delivery must never undo the record
    that it was made (the content would be sent again). A receiver's failure is logged (send_robust) and
    costs at most what it was to do, as does a process stopping between the two: a review invitation."""
    now = timezone.now()
    done = {"delivered_at": now, "delivery_claimed_at": None, "delivery_error": "", "updated_at": now}
    if Purchase.objects.filter(pk=purchase.pk, delivered_at__isnull=True).update(**done):
        signals.purchase_delivered.send_robust(Purchase, purchase_id=purchase.pk)
    else:  # delivered again (staff asked)
        Purchase.objects.filter(pk=purchase.pk).update(**done)


def purchase_mark_delivery_failed(*, purchase: Purchase, error: str) -> None:
    Purchase.objects.filter(pk=purchase.pk).update(
        delivery_claimed_at=None, delivery_error=error[:255], updated_at=timezone.now()
    )


def purchase_request_delivery(*, purchase: Purchase) -> bool:
    """Staff ask for a purchase's content to be handed over: a payment they reviewed, or content sent
    again (it failed, or the buyer lost it). False for a refunded purchase, which gives nothing.

    The purchase's row is locked first, so two requests at once (two staff, a double click) hand
    over one set of units: the second finds them given.
    """
    with transaction.atomic():
        purchase = Purchase.objects.select_for_update(of=("self",)).select_related("product").get(pk=purchase.pk)
        if purchase.status != Purchase.Status.PAID:
            return False
        again = purchase.delivered_at is not None
        if purchase.review_reason.startswith(OUT_OF_STOCK):
            try:
                stock_fill(purchase=purchase)  # paid while stock ran out: its units now, if stock was added
            except OutOfStock as short:
                raise ValidationError(
                    _("Not enough stock to hand this purchase over (%(n)d available): add stock, or refund it.")
                    % {"n": short.available}
                ) from short
        if purchase.review_reason:  # staff checked the payment: the buyer may have the content
            Purchase.objects.filter(pk=purchase.pk).update(review_reason="", updated_at=timezone.now())
            access_period_ensure(purchase=purchase)  # a chat's access it pays for starts now (shop.access)
        signals.delivery_requested.send(Purchase, purchase_id=purchase.pk, again=again)
    return True
