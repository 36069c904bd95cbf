"""The rules of chat access: what each payment pays for, when access ends, and what staff may change.

A payment for a product with chat access is recorded (shop.services.payments) together with the
period it paid for, in one transaction: the purchase's unique charge id makes a payment Telegram
sends twice one record and one period, never two. A member is paid until the end of their latest
period still paid (not refunded), or of the time staff gave them. When that is over, the periodic
check (botapp/access_tasks.py) ends the membership here, removes the member from the chat, and
records that (`membership_mark_removed`), once.
"""

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from shop.access.models import SUBSCRIPTION_PERIOD, SUBSCRIPTION_PRICE_LIMIT, AccessPeriod, ChatAccess, Membership
from shop.access.selectors import memberships_due, paid_q
from shop.models import Purchase


def chat_access_check_price(*, mode: str, price: int, currency: str) -> None:
    """Telegram's terms for a subscription: Stars only, at most SUBSCRIPTION_PRICE_LIMIT a period."""
    if mode != ChatAccess.Mode.SUBSCRIPTION:
        return
    if currency != "XTR":
        raise ValidationError(_("A subscription can only be paid in Telegram Stars (SHOP_CURRENCY=XTR)."))
    if not 1 <= price <= SUBSCRIPTION_PRICE_LIMIT:
        raise ValidationError(_("A subscription costs from 1 to %(limit)d Stars a month.") % {"limit": SUBSCRIPTION_PRICE_LIMIT})


def _subscription_ends(*, membership: Membership, now: datetime, expires_at: datetime | None) -> datetime:
    if expires_at is not None:  # Telegram's own date for the subscription: it decides when it renews
        return expires_at
    current = membership.paid_until if membership.pk and membership.state == Membership.State.ACTIVE else None
    return max(current or now, now) + SUBSCRIPTION_PERIOD


def access_period_record(
    *,
    purchase: Purchase,
    renewal: bool = False,
    expires_at: datetime | None = None,
    now: datetime | None = None,
    opens_chat: bool | None = None,
) -> Membership | None:
    """The access a just-recorded payment gives (called inside the transaction that saves it); None if its
    product opens no chat, or the payment is a test one. `renewal`: Telegram renewed a subscription;
    `expires_at`: the subscription's end;
    `opens_chat`: False when the caller knows the product opens none (no query then)."""
    if opens_chat is False or purchase.payment_type == Purchase.PaymentType.TEST:
        return None  # a test payment (Try the bot) lets nobody into the real chat
    access = ChatAccess.objects.filter(product_id=purchase.product_id).first()
    if access is None:
        return None
    now = now or timezone.now()
    mine = Membership.objects.select_for_update().filter(user_id=purchase.user_id, product_id=purchase.product_id)
    membership = mine.first()
    if membership is None:
        try:  # the customer's other payment for this product, at this very moment, may create it first
            with transaction.atomic():
                membership = Membership.objects.create(
                    user_id=purchase.user_id, product_id=purchase.product_id, since=now, paid_until=now
                )
            membership.paid_until = None  # only there for the constraint: the period below sets it
        except IntegrityError:
            membership = mine.get()
    elif membership.state == Membership.State.ENDED:  # back after it ended: a new membership
        _reopen(membership, now)
    if access.is_subscription:
        ends = _subscription_ends(membership=membership, now=now, expires_at=expires_at)
        starts = min(now, ends - SUBSCRIPTION_PERIOD)
        if purchase.payment_type == Purchase.PaymentType.STARS:  # a grant is 30 days, renewed by nobody
            membership.renewing = True
            if not renewal or not membership.subscription_charge_id:
                membership.subscription_charge_id = purchase.payment_id
        membership.paid_until = max(filter(None, [membership.paid_until, ends]))
    else:
        starts, ends = now, None
        membership.for_good, membership.paid_until = True, None
    membership.save()
    AccessPeriod.objects.create(purchase=purchase, membership=membership, starts=starts, ends=ends, renewal=renewal)
    return membership


def access_period_ensure(*, purchase: Purchase) -> Membership | None:
    """Staff cleared a payment held for review: the access it pays for, unless it has its period already."""
    if AccessPeriod.objects.filter(purchase=purchase).exists():
        return None
    with transaction.atomic():
        return access_period_record(purchase=purchase)


def _reopen(membership: Membership, now: datetime) -> None:
    """An ended membership starts again (nothing of the old one's time counts)."""
    membership.state, membership.since, membership.ended_at, membership.end_reason = Membership.State.ACTIVE, now, None, ""
    membership.removed_at, membership.removal_error, membership.joined_at = None, "", None
    membership.paid_until = membership.extended_until = None
    membership.for_good = False


def _close(membership: Membership, reason: str, now: datetime) -> None:
    membership.state, membership.end_reason, membership.ended_at = Membership.State.ENDED, reason, now
    membership.renewing = False


def _recompute_paid_until(membership: Membership) -> None:
    paid = membership.periods.filter(purchase__status=Purchase.Status.PAID)
    membership.for_good = paid.filter(ends__isnull=True).exists()
    latest = paid.aggregate(latest=Max("ends"))["latest"]
    ends = [moment for moment in (latest, membership.extended_until) if moment is not None]
    membership.paid_until = max(ends) if ends else None


def access_purchase_refunded(*, purchase: Purchase, now: datetime | None = None) -> Membership | None:
    """A payment was given back: its period no longer counts. If nothing paid is left, access ends now
    (the member is removed by the next check)."""
    now = now or timezone.now()
    with transaction.atomic():
        membership = Membership.objects.select_for_update().filter(periods__purchase=purchase).first()
        if membership is None:
            return None
        _recompute_paid_until(membership)
        membership.renewing = False  # Telegram ends a subscription whose payment it gave back
        if membership.paid_until is None and not membership.for_good:
            membership.paid_until = now
        membership.save()
        if membership.state == Membership.State.ACTIVE and not Membership.objects.filter(paid_q(now), pk=membership.pk).exists():
            _close(membership, Membership.EndReason.REFUNDED, now)
            membership.save()
    return membership


def memberships_expire(*, now: datetime | None = None) -> list[Membership]:
    """End every active membership whose paid time is over at `now`; returns those this call ended (another
    worker ending the same one at once ends it once: the state changes only from active)."""
    now = now or timezone.now()
    ended = []
    for membership in memberships_due(now=now).select_related("user", "product"):
        reason = Membership.EndReason.NOT_RENEWED if membership.subscription_charge_id else Membership.EndReason.EXPIRED
        changed = Membership.objects.filter(pk=membership.pk, state=Membership.State.ACTIVE).exclude(paid_q(now))
        if changed.update(state=Membership.State.ENDED, end_reason=reason, ended_at=now, renewing=False, updated_at=now):
            _close(membership, reason, now)
            ended.append(membership)
    return ended


def membership_mark_removed(*, membership_id: int, error: str = "", now: datetime | None = None) -> bool:
    """The member left the chat (or Telegram refused to remove them for good: `error`, for staff).
    True if this call recorded it (the member is told once)."""
    now = now or timezone.now()
    pending = Membership.objects.filter(pk=membership_id, state=Membership.State.ENDED, removed_at__isnull=True, removal_error="")
    # the invite link was revoked on the way out: if they come back, a new one, not that one again
    if error:
        return bool(pending.update(removal_error=error[:255], invite_link_at=None, updated_at=now))
    return bool(pending.update(removed_at=now, invite_link_at=None, updated_at=now))


def membership_set_renewing(*, membership: Membership, renewing: bool) -> Membership:
    """The customer cancels or resumes the renewal (Telegram has been told already)."""
    if not membership.subscription_charge_id or membership.state != Membership.State.ACTIVE:
        raise ValidationError(_("This subscription has ended."))
    membership.renewing = renewing
    membership.save(update_fields=["renewing", "updated_at"])
    return membership


def membership_may_change_renewal(*, membership: Membership, now: datetime | None = None) -> bool:
    """Renewal can be cancelled or resumed while the subscription's paid period lasts."""
    now = now or timezone.now()
    return (
        bool(membership.subscription_charge_id)
        and membership.state == Membership.State.ACTIVE
        and (membership.paid_until is not None and membership.paid_until > now)
    )


def membership_extend(*, membership: Membership, days: int, now: datetime | None = None) -> Membership:
    """Staff give a member `days` more (from the end of what is paid, or from now if that is over)."""
    if not 1 <= days <= 3660:
        raise ValidationError(_("Extend by 1 to 3660 days."))
    now = now or timezone.now()
    with transaction.atomic():
        membership = Membership.objects.select_for_update().get(pk=membership.pk)
        if membership.for_good and membership.state == Membership.State.ACTIVE:
            raise ValidationError(_("This access is for good already."))
        if membership.state == Membership.State.ENDED:
            if membership.removed_at is None and membership.removal_error == "":
                raise ValidationError(_("The member is being removed from the chat right now: try again in a minute."))
            _reopen(membership, now)
        start = max(membership.paid_until or now, now)
        membership.extended_until = start + timedelta(days=days)
        membership.paid_until = membership.extended_until
        membership.save()
    return membership


def membership_revoke(*, membership: Membership, now: datetime | None = None) -> bool:
    """Staff take access away now: the member is removed by the next check (and told). False if it had ended."""
    now = now or timezone.now()
    return bool(
        Membership.objects.filter(pk=membership.pk, state=Membership.State.ACTIVE).update(
            state=Membership.State.ENDED,
            end_reason=Membership.EndReason.REVOKED,
            ended_at=now,
            renewing=False,
            for_good=False,
            paid_until=now,
            extended_until=None,
            updated_at=now,
        )
    )


# A new one-person invite link at most this often: within it, the buyer gets the live link again (each link
# can let one person in, whoever has it: a link a minute would be a seat a minute).
INVITE_LINK_COOLDOWN = timedelta(minutes=10)


def membership_set_invite_link(
    *, membership: Membership, link: str, replaces: str | None = None, now: datetime | None = None
) -> bool:
    """Record the member's live invite link. `replaces`: the link the caller revoked to make this one; the new
    one is recorded only if that was still the live one (two presses at once: one wins, the caller of the
    other revokes its link). True if recorded."""
    now = now or timezone.now()
    mine = Membership.objects.filter(pk=membership.pk)
    if replaces is not None:
        mine = mine.filter(invite_link=replaces)
    if not mine.update(invite_link=link[:255], invite_link_at=now, updated_at=now):
        return False
    membership.invite_link, membership.invite_link_at = link[:255], now
    return True


def membership_recent_invite_link(*, membership: Membership, now: datetime | None = None) -> str:
    """The member's live invite link if it was made within INVITE_LINK_COOLDOWN (no new one then); else ""."""
    now = now or timezone.now()
    made = membership.invite_link_at
    return membership.invite_link if membership.invite_link and made and now - made < INVITE_LINK_COOLDOWN else ""


def membership_mark_joined(*, membership: Membership, now: datetime | None = None) -> None:
    Membership.objects.filter(pk=membership.pk).update(joined_at=now or timezone.now(), updated_at=timezone.now())


def chat_access_report_problem(*, access: ChatAccess, problem: str) -> bool:
    """Telegram refused something in this chat; True if it is news (staff are told once per problem)."""
    return bool(ChatAccess.objects.filter(pk=access.pk).exclude(problem=problem[:255]).update(problem=problem[:255]))


def chat_access_checked(*, access: ChatAccess, title: str) -> None:
    """The admin checked the chat: the bot has what it needs there."""
    access.chat_title, access.problem = title[:255], ""
