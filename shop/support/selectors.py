"""Reads of support: whether a customer's message is awaited, which conversation a staff reply belongs to,
and what staff need to know about the customer."""

from django.utils import timezone

from shop.models import Purchase, User
from shop.support.models import SupportMessage, SupportWait

RECENT_PURCHASES = 5


def support_wait_accepts(*, telegram_id: int, media_group_id: str = "") -> bool:
    """A message of the customer's goes to staff: they pressed "Write to support" (or are sending its album)."""
    wait = SupportWait.objects.filter(telegram_id=telegram_id, expires_at__gt=timezone.now()).first()
    return wait is not None and wait.media_group_id in ("", media_group_id or "")


def support_message_for_staff_message(*, staff_chat_id: int, staff_message_id: int) -> SupportMessage | None:
    """The customer's message a staff member was shown as `staff_message_id` in their chat with the bot."""
    return (
        SupportMessage.objects.select_related("customer")
        .filter(copies__staff_chat_id=staff_chat_id, copies__staff_message_id=staff_message_id)
        .first()
    )


def support_recent_purchases(*, customer: User, limit: int = RECENT_PURCHASES) -> list[Purchase]:
    """The customer's latest purchases, refunded ones and those under review too (what support asks about)."""
    return list(Purchase.objects.filter(user=customer).select_related("product").order_by("-created_at", "-id")[:limit])


def support_staff_languages(*, telegram_ids: list[int]) -> dict[int, str]:
    """The language Telegram gave for each staff member who has talked to the bot."""
    rows = User.objects.filter(telegram_id__in=telegram_ids).values_list("telegram_id", "language_code")
    return dict(rows)
