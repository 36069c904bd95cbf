"""Writes of support: a customer's wait for their message, the messages both ways, where staff saw them."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from shop.models import User
from shop.models.base import storable_string, storable_text
from shop.support.models import SupportCopy, SupportMessage, SupportWait
from shop.waits import wait_hint_set, wait_hint_take

# How long "Write to support" waits for the customer's message.
WAIT = timedelta(minutes=10)
# The parts of an album arrive as separate messages within moments of each other.
ALBUM_WAIT = timedelta(seconds=30)


def support_wait_start(*, telegram_id: int) -> None:
    """The customer's next message (within WAIT) goes to staff."""
    SupportWait.objects.update_or_create(
        telegram_id=telegram_id, defaults={"expires_at": timezone.now() + WAIT, "media_group_id": ""}
    )
    wait_hint_set("support", telegram_id, WAIT)


def support_wait_cancel(*, telegram_id: int) -> bool:
    """The customer changed their mind (Cancel, or any command); False if nothing was waiting.
    Usually nothing waits: then no query at all (shop.waits)."""
    if not wait_hint_take("support", telegram_id):
        return False
    return SupportWait.objects.filter(telegram_id=telegram_id).delete()[0] > 0


def support_wait_use(*, telegram_id: int, media_group_id: str = "") -> bool:
    """The customer's message arrived: the wait ends, or, for a part of an album, stays open a moment for
    the album's other parts. True if this is the wait's first message."""
    with transaction.atomic():
        wait = SupportWait.objects.select_for_update().filter(telegram_id=telegram_id).first()
        if wait is None:
            return False
        first = not wait.media_group_id  # the album's first part came with the header
        if media_group_id:
            wait.media_group_id = storable_text(SupportWait, "media_group_id", media_group_id)
            wait.expires_at = timezone.now() + ALBUM_WAIT
            wait.save(update_fields=["media_group_id", "expires_at"])
        else:
            wait.delete()
        return first


def _message(**fields) -> SupportMessage:
    message = SupportMessage(**fields)
    message.text = storable_string(message.text)
    message.file_id = storable_text(SupportMessage, "file_id", message.file_id)
    message.full_clean()
    message.save()
    return message


def support_message_from_customer(
    *, customer: User, kind: str, text: str = "", file_id: str = "", chat_message_id: int
) -> SupportMessage:
    return _message(
        customer=customer,
        direction=SupportMessage.Direction.FROM_CUSTOMER,
        kind=kind,
        text=text,
        file_id=file_id,
        chat_message_id=chat_message_id,
    )


def support_copies_record(*, message: SupportMessage, copies: list[tuple[int, int]], reached: bool) -> None:
    """Where staff were shown `message` or its header ((staff chat id, message id) pairs: a reply to any of
    them answers it); `reached`: at least one staff member got the message itself."""
    SupportCopy.objects.bulk_create(
        [SupportCopy(message=message, staff_chat_id=chat_id, staff_message_id=message_id) for chat_id, message_id in copies]
    )
    if not reached:
        message.delivered = False
        message.error = "no staff member could be reached"
        message.save(update_fields=["delivered", "error", "updated_at"])


def support_answer_record(
    *,
    answer_to: SupportMessage,
    staff_telegram_id: int,
    kind: str,
    text: str = "",
    file_id: str = "",
    chat_message_id: int,
    error: str = "",
) -> SupportMessage:
    """A staff member's answer to `answer_to`, sent to its customer (or not: `error` says why)."""
    return _message(
        customer=answer_to.customer,
        direction=SupportMessage.Direction.TO_CUSTOMER,
        answer_to=answer_to,
        staff_telegram_id=staff_telegram_id,
        kind=kind,
        text=text,
        file_id=file_id,
        chat_message_id=chat_message_id,
        delivered=not error,
        error=error[: SupportMessage._meta.get_field("error").max_length],
    )
