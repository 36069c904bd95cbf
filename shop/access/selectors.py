"""Reads of chat access: who is in, who is due to leave, which chat a product opens."""

from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from shop.access.models import RENEWAL_GRACE, ChatAccess, Membership


def paid_q(now: datetime, *, grace_from: datetime | None = None) -> Q:
    """Memberships whose access has not run out at `now` (a renewing subscription: not before its grace is over).

    `grace_from` is `now - RENEWAL_GRACE`; a prepared read (shop.prepared) passes it as a value of its own.
    """
    grace_from = now - RENEWAL_GRACE if grace_from is None else grace_from
    running = Q(for_good=True) | Q(paid_until__gt=now) | Q(renewing=True, paid_until__gt=grace_from)
    return Q(state=Membership.State.ACTIVE) & running


def memberships_active(
    *, telegram_id: int, product_ref, now: datetime | None = None, grace_from: datetime | None = None
) -> QuerySet[Membership]:
    """The membership giving `telegram_id` the product's chat now (`product_ref`: an id or an OuterRef)."""
    paid = paid_q(now or timezone.now(), grace_from=grace_from)
    return Membership.objects.filter(paid, user__telegram_id=telegram_id, product_id=product_ref)


def chat_access_get(*, product_id: int) -> ChatAccess | None:
    return ChatAccess.objects.filter(product_id=product_id).first()


def chat_access_list_for_chat(*, chat_id: int) -> QuerySet[ChatAccess]:
    return ChatAccess.objects.filter(chat_id=chat_id)


def membership_get(*, telegram_id: int, product_id: int) -> Membership | None:
    return (
        Membership.objects.select_related("user", "product", "product__chat_access")
        .filter(user__telegram_id=telegram_id, product_id=product_id)
        .first()
    )


def membership_paid_for_chat(*, telegram_id: int, chat_id: int, now: datetime | None = None) -> Membership | None:
    """A membership that lets `telegram_id` into the chat now (through any product that opens it)."""
    return (
        Membership.objects.filter(paid_q(now or timezone.now()), user__telegram_id=telegram_id)
        .filter(product__chat_access__chat_id=chat_id)
        .select_related("user", "product")
        .first()
    )


def memberships_due(*, now: datetime | None = None) -> QuerySet[Membership]:
    """Active memberships whose paid time has run out: they are to end and their members to leave the chat."""
    return Membership.objects.filter(state=Membership.State.ACTIVE).exclude(paid_q(now or timezone.now()))


def memberships_to_remove() -> QuerySet[Membership]:
    """Ended memberships whose member has not been removed from the chat yet (nor refused by Telegram for good)."""
    return (
        Membership.objects.filter(state=Membership.State.ENDED, removed_at__isnull=True, removal_error="")
        .select_related("user", "product", "product__chat_access")
        .order_by("ended_at", "id")
    )
