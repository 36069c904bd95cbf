"""What the bot waits for from a customer: at most one message at a time.

«Write to support», «Have a promo code?» and a rating (the review's text) each take the customer's
next message. Starting one ends the others, and any command ends all of them, so a message never
goes where the customer no longer expects it (a review taken as a promo code, a code sent to staff).
Any button pressed but a rating's own ends the wait for a review's text (`after_press`, called by
botapp.dispatch for every press before the handlers see it).
"""

from telebot.types import CallbackQuery

from botapp import callbacks
from shop.promotions.services import promo_wait_cancel
from shop.reviews.services import review_wait_cancel
from shop.support.services import support_wait_cancel

CANCELS = {"support": support_wait_cancel, "promo": promo_wait_cancel, "review": review_wait_cancel}


def end_waits(telegram_id: int, *, but: str | None = None) -> None:
    """End what the bot waits for from the customer, except `but` (the wait being started)."""
    for kind, cancel in CANCELS.items():
        if kind != but:
            cancel(telegram_id=telegram_id)


# Presses that keep the wait for a review's text: rating again (Skip ends the wait itself).
KEEP_REVIEW_WAIT = ("rate_set", "review_skip")


def after_press(call: CallbackQuery) -> None:
    """The customer moved on (pressed another button, anywhere): what they type next is no review. Costs no
    query when no wait is open (shop.waits)."""
    parsed = callbacks.parse(call.data)
    if call.from_user is not None and (parsed is None or parsed.action not in KEEP_REVIEW_WAIT):
        review_wait_cancel(telegram_id=call.from_user.id)
