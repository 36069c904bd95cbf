"""Writes about customers: who they are (as Telegram says) and whether the bot can reach them."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from shop.models import User
from shop.models.base import storable_text
from shop.prepared import Prepared

# every update's first read: compiled once (shop.prepared)
_USER = Prepared(lambda telegram_id: User.objects.filter(telegram_id=telegram_id)[:1], telegram_id=int)


def user_sync_from_telegram(
    *,
    telegram_id: int,
    username: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    language_code: str | None = None,
) -> User:
    """Create the customer, or bring their names up to date (Telegram users rename themselves).

    A user who writes to the bot has evidently not blocked it.
    """
    fresh = {
        "username": storable_text(User, "username", username),
        "first_name": storable_text(User, "first_name", first_name),
        "last_name": storable_text(User, "last_name", last_name),
        "language_code": storable_text(User, "language_code", language_code),
        "is_blocked": False,
    }
    user = _USER.first(telegram_id=telegram_id)  # the usual case: one query
    if user is None:
        try:
            with transaction.atomic():
                return User.objects.create(telegram_id=telegram_id, **fresh)
        except IntegrityError:  # created meanwhile by another worker
            user = User.objects.get(telegram_id=telegram_id)
    changed = [field for field, value in fresh.items() if getattr(user, field) != value]
    if changed:
        for field in changed:
            setattr(user, field, fresh[field])
        user.save(update_fields=[*changed, "updated_at"])
    return user


def user_set_blocked(*, telegram_id: int, blocked: bool) -> bool:
    """Record that the user blocked (or unblocked) the bot; False if we never met them."""
    return bool(User.objects.filter(telegram_id=telegram_id).update(is_blocked=blocked, updated_at=timezone.now()))
