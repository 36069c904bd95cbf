"""Broadcasts: messages staff send to many customers. Writes and reads; botapp/broadcasting.py sends.

No customer receives a broadcast twice. Starting a broadcast creates one BroadcastRecipient row
per customer; a sender claims a few rows at a time with a conditional UPDATE (only one sender
can win a row, on SQLite and PostgreSQL alike), marks each row `attempted_at` right before the
message goes to Telegram, and records the outcome right after Telegram answers. A claim that
runs out before anything was attempted (its sender died) is taken by the next sender. A row
attempted but never resolved (the process died while Telegram was being asked) is never sent
again: it becomes failed, "may or may not have arrived". So a crash may cost the one customer
being sent to at that moment their message, and never sends anyone a second copy. Timeouts only
decide when work is taken over: a sender slower than its claim finds the row's token changed and
sends nothing.
"""

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from shop import signals
from shop.models import Broadcast, BroadcastRecipient, Product, User
from shop.money import format_price
from shop.selectors.broadcasts import broadcast_audience
from shop.services.customers import user_set_blocked
from shop.stock.models import RestockRequest
from shop.stock.selectors import stock_available_count
from shop.telegram_html import escape

# Longer than a live sender holds a claim (a batch of sends with 10 s timeouts, short 429 waits).
BROADCAST_CLAIM_TIMEOUT = timedelta(minutes=5)


INTERRUPTED_ERROR = "Sending was interrupted while Telegram was being asked; the message may or may not have arrived."


Recipient = BroadcastRecipient.Status


def broadcast_create(
    *,
    text: str,
    audience: str = Broadcast.Audience.ALL,
    product: Product | None = None,
    selected_users: QuerySet[User] | list[User] | list[int] | None = None,
    created_by=None,
    button_product: Product | None = None,
) -> Broadcast:
    broadcast = Broadcast(text=text, audience=audience, product=product, created_by=created_by, button_product=button_product)
    broadcast.full_clean()
    with transaction.atomic():
        broadcast.save()
        if selected_users is not None:
            broadcast.selected_users.set(selected_users)
    return broadcast


def broadcast_start(*, broadcast: Broadcast) -> int:
    """Begin sending a draft: one recipient row per customer; returns how many will get it.

    Customers known to have blocked the bot are recorded as blocked and not sent to.
    """
    broadcast.full_clean()
    with transaction.atomic():
        now = timezone.now()
        if not Broadcast.objects.filter(pk=broadcast.pk, status=Broadcast.Status.DRAFT).update(
            status=Broadcast.Status.SENDING, started_at=now, updated_at=now
        ):
            raise ValidationError(_("This broadcast has already been sent."))
        audience = list(broadcast_audience(broadcast=broadcast).order_by("pk").values_list("pk", "is_blocked"))
        if not audience:
            raise ValidationError(_("Nobody would receive this broadcast: choose other recipients."))
        BroadcastRecipient.objects.bulk_create(
            [
                BroadcastRecipient(
                    broadcast_id=broadcast.pk, user_id=user_id, status=Recipient.BLOCKED if blocked else Recipient.PENDING
                )
                for user_id, blocked in audience
            ],
            batch_size=1000,
        )
        signals.broadcast_started.send(Broadcast, broadcast_id=broadcast.pk)
    broadcast.refresh_from_db()
    return sum(1 for _user, blocked in audience if not blocked)


def broadcast_restock(*, product_id: int) -> Broadcast | None:
    """Tell everyone who asked that a product is back in stock: one broadcast (Telegram's pace, blocked
    customers handled), with a button to the card; their requests are cleared with it. None if nobody
    is waiting, or the product is off sale or sold out again (the requests then stay)."""
    product = Product.objects.filter(pk=product_id, is_active=True, sells_units=True).first()
    if product is None or not stock_available_count(product_id=product_id, up_to=1):
        return None
    with transaction.atomic():
        waiting = list(RestockRequest.objects.select_for_update().filter(product=product).values_list("pk", "user_id"))
        if not waiting:
            return None
        with translation.override(settings.LANGUAGE_CODE):
            price = format_price(product.price, product.currency) if product.price else _("free")
            text = _("🔔 Back in stock: <b>%(product)s</b> · %(price)s") % {"product": escape(product.name), "price": price}
        broadcast = broadcast_create(
            text=text,
            audience=Broadcast.Audience.SELECTED,
            selected_users=[user_id for _pk, user_id in waiting],
            button_product=product,
        )
        RestockRequest.objects.filter(pk__in=[pk for pk, _user in waiting]).delete()
        broadcast_start(broadcast=broadcast)
    return broadcast


def broadcast_cancel(*, broadcast: Broadcast) -> int:
    """Stop a broadcast: nothing more is sent (a message already on its way still arrives).

    Returns how many customers will not get it.
    """
    now = timezone.now()
    with transaction.atomic():
        if not Broadcast.objects.filter(pk=broadcast.pk, status=Broadcast.Status.SENDING).update(
            status=Broadcast.Status.CANCELLED, finished_at=now, updated_at=now
        ):
            raise ValidationError(_("Only a broadcast that is being sent can be cancelled."))
        cancelled = BroadcastRecipient.objects.filter(
            broadcast_id=broadcast.pk, status=Recipient.PENDING, attempted_at__isnull=True
        ).update(status=Recipient.CANCELLED)
    _fail_interrupted(broadcast.pk, now)
    broadcast.refresh_from_db()
    return cancelled


def broadcast_recipients_claim(*, broadcast_id: int, limit: int) -> list[BroadcastRecipient]:
    """Take up to `limit` recipients still to be sent to; [] when none is free (or the broadcast stopped).

    Rows another sender holds are skipped until its claim runs out. Each claim gets its own token,
    and only the rows whose token is ours come back: the conditional UPDATE decides.
    """
    for _attempt in range(3):  # another sender may take the rows we picked: pick again
        now = timezone.now()
        free = Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - BROADCAST_CLAIM_TIMEOUT)
        candidates = list(
            BroadcastRecipient.objects.filter(
                free,
                broadcast_id=broadcast_id,
                broadcast__status=Broadcast.Status.SENDING,
                status=Recipient.PENDING,
                attempted_at__isnull=True,
            )
            .order_by("id")
            .values_list("id", flat=True)[:limit]
        )
        if not candidates:
            return []
        token = uuid.uuid4().hex
        # Only the row's own columns in this UPDATE: PostgreSQL re-checks them against a concurrent claim.
        if BroadcastRecipient.objects.filter(free, id__in=candidates, status=Recipient.PENDING, attempted_at__isnull=True).update(
            claim_token=token, claimed_at=now
        ):
            return list(BroadcastRecipient.objects.filter(claim_token=token).select_related("user").order_by("id"))
    return []


def _held(recipient: BroadcastRecipient) -> QuerySet[BroadcastRecipient]:
    return BroadcastRecipient.objects.filter(pk=recipient.pk, claim_token=recipient.claim_token, status=Recipient.PENDING)


def broadcast_recipient_begin_send(*, recipient: BroadcastRecipient) -> bool:
    """Record that the message is about to go to Telegram; False: not ours to send any more (cancelled)."""
    now = timezone.now()
    return bool(_held(recipient).filter(attempted_at__isnull=True).update(attempted_at=now, claimed_at=now))


def broadcast_recipient_mark_sent(*, recipient: BroadcastRecipient) -> bool:
    return bool(_held(recipient).update(status=Recipient.SENT, sent_at=timezone.now(), error=""))


def broadcast_recipient_mark_failed(*, recipient: BroadcastRecipient, error: str) -> bool:
    return bool(_held(recipient).update(status=Recipient.FAILED, error=error[:255]))


def broadcast_recipient_mark_blocked(*, recipient: BroadcastRecipient, error: str) -> bool:
    user_set_blocked(telegram_id=recipient.user.telegram_id, blocked=True)
    return bool(_held(recipient).update(status=Recipient.BLOCKED, error=error[:255]))


def broadcast_recipient_release(*, recipient: BroadcastRecipient) -> None:
    """Give back a recipient claimed but not tried: the next chunk sends to them."""
    _held(recipient).filter(attempted_at__isnull=True).update(claim_token="", claimed_at=None)


def broadcast_recipient_retry_later(*, recipient: BroadcastRecipient) -> None:
    """Telegram did not take the message (429, or no connection): nothing was sent, so send it later."""
    _held(recipient).update(claim_token="", claimed_at=None, attempted_at=None)


def broadcast_finish_if_complete(*, broadcast_id: int) -> bool:
    """Mark the broadcast done once nobody is left to send to; True if nobody is (done, or cancelled)."""
    now = timezone.now()
    _fail_interrupted(broadcast_id, now)
    if BroadcastRecipient.objects.filter(broadcast_id=broadcast_id, status=Recipient.PENDING).exists():
        return False
    Broadcast.objects.filter(pk=broadcast_id, status=Broadcast.Status.SENDING).update(
        status=Broadcast.Status.DONE, finished_at=now, updated_at=now
    )
    return True


def broadcast_release_claims(*, before: datetime) -> int:
    """Claims made before `before` belong to a sender known to be gone (runbot restarted): settle them now.

    Recipients it never tried go back to the queue; one it was sending to when it died is failed
    (the message may have arrived). Returns how many went back.
    """
    stale = BroadcastRecipient.objects.filter(status=Recipient.PENDING, claimed_at__lt=before)
    stale.filter(attempted_at__isnull=False).update(status=Recipient.FAILED, error=INTERRUPTED_ERROR)
    return stale.filter(attempted_at__isnull=True).update(claim_token="", claimed_at=None)


def _fail_interrupted(broadcast_id: int, now: datetime) -> int:
    """Sends whose outcome nobody recorded before the claim ran out: the sender died mid-request.

    Whether Telegram delivered them is unknown, so they are never repeated.
    """
    return BroadcastRecipient.objects.filter(
        broadcast_id=broadcast_id, status=Recipient.PENDING, attempted_at__lt=now - BROADCAST_CLAIM_TIMEOUT
    ).update(status=Recipient.FAILED, error=INTERRUPTED_ERROR)
