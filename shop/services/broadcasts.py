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

Starting a broadcast writes one row per customer, 200 000 rows for a big shop: seconds of writing.
SQLite lets one writer in at a time, so the rows go in small chunks, each its own short transaction,
with a pause between chunks (on SQLite) long enough for a waiting writer, such as the bot recording
a payment, to get its turn: a waiting writer retries the lock at least every 100 ms. Meanwhile the
broadcast stays a draft, which no sender touches; it becomes "sending" in one last transaction, once
every row exists. So a sender never sees a broadcast with rows still missing (it would finish it
early and the rest would never get it), and a start that dies half way leaves a draft with some rows
and nothing sent. One start at a time: it first claims the draft by moving its `updated_at` on from
the version it was given, every chunk is written only while the draft is still at the claimed
version (in the same transaction, with the row locked on PostgreSQL), and so is the final switch. A
second click on Send, staff editing the draft meanwhile, or deleting it, stops the start rather than
mixing two audiences. The next start of the draft removes the rows a dead or stopped start left.
The unique (broadcast, customer) pair keeps anyone from getting two rows.
"""

import time
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
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
from shop.trial import real_customers

# Longer than a live sender holds a claim (a batch of sends with 10 s timeouts, short 429 waits).
BROADCAST_CLAIM_TIMEOUT = timedelta(minutes=5)

# Starting: rows written per transaction (about 0.1 s of SQLite's write lock), and the pause after
# each, which a writer waiting for the lock (retrying at least every 100 ms) cannot miss.
RECIPIENTS_PER_TRANSACTION = 2000
WRITERS_TURN_SECONDS = 0.12


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
    is_restock: bool = False,
) -> Broadcast:
    broadcast = Broadcast(
        text=text,
        audience=audience,
        product=product,
        created_by=created_by,
        button_product=button_product,
        is_restock=is_restock,
    )
    broadcast.full_clean()
    with transaction.atomic():
        broadcast.save()
        if selected_users is not None:
            broadcast.selected_users.set(selected_users)
    return broadcast


def broadcast_start(*, broadcast: Broadcast) -> int:
    """Begin sending a draft: one recipient row per customer; returns how many will get it.

    Customers known to have blocked the bot are recorded as blocked and not sent to. The rows are
    written in short transactions while the broadcast is still a draft (see the module's docstring),
    so call it outside a transaction: inside one, the database's write lock is held to the end.
    """
    broadcast.full_clean()
    if broadcast.status != Broadcast.Status.DRAFT:
        raise ValidationError(_("This broadcast has already been sent."))
    audience = list(broadcast_audience(broadcast=broadcast).order_by("pk").values_list("pk", "is_blocked"))
    if not audience:
        raise ValidationError(_("Nobody would receive this broadcast: choose other recipients."))
    version = _draft_claim(broadcast)
    _recipients_remove_leftovers(broadcast, version)
    for start in range(0, len(audience), RECIPIENTS_PER_TRANSACTION):
        if start:
            _writers_turn()
        _recipients_add(broadcast, audience[start : start + RECIPIENTS_PER_TRANSACTION], version)
    with transaction.atomic():
        now = timezone.now()
        if not _draft_at(broadcast, version).update(status=Broadcast.Status.SENDING, started_at=now, updated_at=now):
            raise _not_startable(broadcast)
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
    with transaction.atomic():  # the requests become the draft's recipients: none is lost, none told twice
        waiting = list(
            RestockRequest.objects.select_for_update()
            .filter(real_customers("user__"), product=product)  # test customers are never messaged
            .values_list("pk", "user_id")
        )
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
            is_restock=True,  # the text above is for staff; each customer gets it in their language
        )
        RestockRequest.objects.filter(pk__in=[pk for pk, _user in waiting]).delete()
    # Started on its own (in short transactions); should this process die first, the draft is in the
    # admin's broadcasts, ready to be sent.
    broadcast_start(broadcast=broadcast)
    return broadcast


def _draft_at(broadcast: Broadcast, version: datetime) -> QuerySet[Broadcast]:
    """The broadcast, if it is still the draft this start claimed."""
    return Broadcast.objects.filter(pk=broadcast.pk, status=Broadcast.Status.DRAFT, updated_at=version)


def _draft_claim(broadcast: Broadcast) -> datetime:
    """Make this start the only one: move the draft's version on from the one the caller saw."""
    version = timezone.now()
    if not _draft_at(broadcast, broadcast.updated_at).update(updated_at=version):
        raise _not_startable(broadcast)
    return version


def _still_claimed(broadcast: Broadcast, version: datetime) -> None:
    """Inside a transaction: stop unless the draft is still this start's (its row locked on PostgreSQL until commit)."""
    if _draft_at(broadcast, version).select_for_update().values_list("pk", flat=True).first() is None:
        raise _not_startable(broadcast)


def _recipients_add(broadcast: Broadcast, audience: list[tuple[int, bool]], version: datetime) -> None:
    rows = [
        BroadcastRecipient(broadcast_id=broadcast.pk, user_id=user_id, status=Recipient.BLOCKED if blocked else Recipient.PENDING)
        for user_id, blocked in audience
    ]
    with transaction.atomic():
        _still_claimed(broadcast, version)
        BroadcastRecipient.objects.bulk_create(rows)


def _recipients_remove_leftovers(broadcast: Broadcast, version: datetime) -> None:
    """Rows an earlier start of this draft wrote before it died or was stopped: they may be for another audience."""
    leftovers = BroadcastRecipient.objects.filter(broadcast_id=broadcast.pk)
    while ids := list(leftovers.order_by("pk").values_list("pk", flat=True)[:RECIPIENTS_PER_TRANSACTION]):
        with transaction.atomic():
            _still_claimed(broadcast, version)
            BroadcastRecipient.objects.filter(pk__in=ids).delete()
        _writers_turn()


def _writers_turn() -> None:
    if connection.vendor == "sqlite":  # one writer at a time: let a waiting one in (PostgreSQL writes rows side by side)
        time.sleep(WRITERS_TURN_SECONDS)


def _not_startable(broadcast: Broadcast) -> ValidationError:
    """Why a draft could not be started, or stopped being started."""
    status = Broadcast.objects.filter(pk=broadcast.pk).values_list("status", flat=True).first()
    if status is None:
        return ValidationError(_("This broadcast has been deleted."))
    if status != Broadcast.Status.DRAFT:
        return ValidationError(_("This broadcast has already been sent."))
    return ValidationError(
        _("This broadcast was changed, or sent by someone else, just now. Check it, then send it again if it is still a draft.")
    )


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
