"""Reads of broadcasts: who receives one, and how far sending has got."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from shop.models import Broadcast, BroadcastRecipient, Purchase, User
from shop.trial import real_customers

# No send started for this long while a broadcast is sending: its background task needs restarting.
BROADCAST_STALLED_AFTER = timedelta(seconds=60)


Recipient = BroadcastRecipient.Status


def broadcast_audience(*, broadcast: Broadcast) -> QuerySet[User]:
    """The customers a broadcast goes to (blocked ones included: they are recorded as blocked, not sent to);
    never staff's test customers (shop/trial.py), who exist only in "Try the bot"."""
    if broadcast.audience == Broadcast.Audience.ALL:
        return User.objects.filter(real_customers())
    if broadcast.audience == Broadcast.Audience.PRODUCT_BUYERS:
        paid = Purchase.objects.filter(user=OuterRef("pk"), product_id=broadcast.product_id, status=Purchase.Status.PAID)
        return User.objects.filter(Exists(paid), real_customers())
    return broadcast.selected_users.filter(real_customers())


@dataclass(frozen=True)
class AudienceSize:
    total: int
    blocked: int

    @property
    def reachable(self) -> int:
        return self.total - self.blocked


def broadcast_audience_size(*, broadcast: Broadcast) -> AudienceSize:
    counts = broadcast_audience(broadcast=broadcast).aggregate(total=Count("pk"), blocked=Count("pk", filter=Q(is_blocked=True)))
    return AudienceSize(**counts)


@dataclass(frozen=True)
class BroadcastProgress:
    broadcast_id: int
    status: str
    total: int
    sent: int
    failed: int
    blocked: int
    cancelled: int
    remaining: int
    started_at: datetime | None
    finished_at: datetime | None
    # The latest claim or send attempt on any broadcast being sent: the sender's heartbeat (it sends one at a time).
    last_send_at: datetime | None
    behind_another: bool  # an older broadcast is still being sent: this one waits its turn

    @property
    def done(self) -> int:
        return self.total - self.remaining

    @property
    def percent(self) -> int:
        return 100 if not self.total else self.done * 100 // self.total

    @property
    def finished(self) -> bool:
        return self.status in (Broadcast.Status.DONE, Broadcast.Status.CANCELLED)

    @property
    def duration(self) -> timedelta | None:
        if self.started_at is None:
            return None
        return (self.finished_at or timezone.now()) - self.started_at

    @property
    def waiting(self) -> bool:
        """Sending, but the sender is busy with an older broadcast first."""
        return self.status == Broadcast.Status.SENDING and self.behind_another

    @property
    def stalled(self) -> bool:
        """Sending, but no sender has touched any broadcast for a while (no worker running, or it died)."""
        if self.status != Broadcast.Status.SENDING or not self.remaining:
            return False
        heartbeat = max(filter(None, [self.started_at, self.last_send_at]))
        return timezone.now() - heartbeat > BROADCAST_STALLED_AFTER


def _counted(status: str) -> Count:
    return Count("recipients", filter=Q(recipients__status=status))


def broadcast_progress(*, broadcast_id: int) -> BroadcastProgress | None:
    """Counts by outcome, and whether the sender is at work, in one query."""
    being_sent = Broadcast.objects.filter(status=Broadcast.Status.SENDING)
    latest_claim = (
        BroadcastRecipient.objects.filter(broadcast__in=being_sent, claimed_at__isnull=False)
        .order_by("-claimed_at")
        .values("claimed_at")[:1]
    )
    older = being_sent.filter(
        Q(started_at__lt=OuterRef("started_at")) | Q(started_at=OuterRef("started_at"), id__lt=OuterRef("id"))
    )
    row = (
        Broadcast.objects.filter(pk=broadcast_id)
        .annotate(
            total=Count("recipients"),
            sent=_counted(Recipient.SENT),
            failed=_counted(Recipient.FAILED),
            blocked=_counted(Recipient.BLOCKED),
            cancelled=_counted(Recipient.CANCELLED),
            remaining=_counted(Recipient.PENDING),
            last_send_at=Subquery(latest_claim),
            behind_another=Exists(older),
        )
        .values(
            "status",
            "total",
            "sent",
            "failed",
            "blocked",
            "cancelled",
            "remaining",
            "started_at",
            "finished_at",
            "last_send_at",
            "behind_another",
        )
        .first()
    )
    if row is None:
        return None
    return BroadcastProgress(broadcast_id=broadcast_id, **row)


def broadcast_next_to_send() -> Broadcast | None:
    """The broadcast senders work on: the oldest one sending (one at a time keeps Telegram's pace)."""
    return Broadcast.objects.filter(status=Broadcast.Status.SENDING).order_by("started_at", "id").first()
