"""Test customers and test payments: staff trying the bot in the admin ("Try the bot").

Each staff member talks to the bot as their own test customer, a User whose Telegram id lies in a
range Telegram never hands out: ids have at most 52 significant bits (core.telegram.org/bots/api,
"chat_id"), so no real user, group or channel has an id at or below -2**52. Purchases of test
customers are recorded with payment type `test`: nobody paid, and they count nowhere (revenue,
dashboard, exports, stock, broadcasts).
"""

from dataclasses import dataclass

from django.db.models import Q

# Every test customer's Telegram id is at or below this; no real chat's is.
TEST_IDS_UP_TO = -(2**52)
TEST_PAYMENT_PREFIX = "test:"


def trial_customer_id(*, staff_id: int) -> int:
    """The test customer of a staff member (their login's primary key)."""
    return TEST_IDS_UP_TO - staff_id


def is_test_customer(telegram_id: int | None) -> bool:
    return isinstance(telegram_id, int) and telegram_id <= TEST_IDS_UP_TO


def trial_customers(prefix: str = "") -> Q:
    """Test customers, as a filter on users (or, with `prefix` "user__", on rows of a user)."""
    return Q(**{f"{prefix}telegram_id__lte": TEST_IDS_UP_TO})


def real_customers(prefix: str = "") -> Q:
    return ~trial_customers(prefix)


@dataclass(frozen=True)
class SampleUnit:
    """What a test purchase of a product sold from stock delivers instead of real units (which it never takes)."""

    content: str
    file_id: str = ""
