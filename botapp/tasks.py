"""Background work, kept in the database (django-tasks): deliveries Telegram could not take at once,
broadcasts, and the periodic recovery sweep.

`runbot` runs a worker for these; a webhook deployment runs `manage.py db_worker`. Tasks talk to
Telegram through the bare Bot API client: they never build the bot with its handlers.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone, translation
from django_tasks import TaskResultStatus, task
from django_tasks_db.models import DBTaskResult
from telebot import TeleBot

from botapp import staff, texts
from botapp.broadcasting import send_broadcasts
from botapp.delivery import Delivery, deliver_purchase
from botapp.telegram.client import api_client
from shop.models import Product, Purchase
from shop.promotions.models import ReferralReward
from shop.promotions.services import promo_applied
from shop.selectors.broadcasts import broadcast_next_to_send
from shop.selectors.purchases import purchase_list_undelivered_for_user
from shop.services.broadcasts import broadcast_restock
from shop.services.delivery import DELIVERY_CLAIM_TIMEOUT

log = logging.getLogger(__name__)

MAX_DELIVERY_ATTEMPTS = 20  # with the backoff below: retries for about a day
# Another worker holds the delivery (maybe one that died): look again once its claim has run out.
BUSY_DELAY = DELIVERY_CLAIM_TIMEOUT + timedelta(seconds=5)


def delivery_backoff(attempt: int) -> timedelta:
    """DELIVERY_RETRY_SECONDS (30 s), then twice as long each time, up to an hour."""
    return timedelta(seconds=min(settings.DELIVERY_RETRY_SECONDS * 2 ** (attempt - 1), 3600))


def schedule_delivery(purchase_id: int, *, attempt: int = 1, again: bool = False, delay: timedelta | None = None):
    run_after = timezone.now() + (delay if delay is not None else timedelta(0))
    return deliver_purchase_task.using(run_after=run_after).enqueue(purchase_id, attempt=attempt, again=again)


def delivery_follow_up(
    bot: TeleBot, purchase: Purchase, result: Delivery, *, attempt: int = 1, again: bool = False, buyer_waiting: bool = False
) -> None:
    """What happens after a delivery attempt, wherever it was made (a handler or the background task).

    Busy: look again when the other worker's claim runs out. Telegram unreachable or busy: try again
    with a growing pause (and tell a buyer who is waiting right now), until staff are told instead.
    """
    if result is Delivery.BUSY:
        schedule_delivery(purchase.pk, attempt=attempt, again=again, delay=BUSY_DELAY)
    elif result is Delivery.RETRY:
        if attempt < MAX_DELIVERY_ATTEMPTS:
            schedule_delivery(purchase.pk, attempt=attempt + 1, again=again, delay=delivery_backoff(attempt))
            if buyer_waiting:
                _tell_buyer_delivery_delayed(bot, purchase)
        else:
            purchase.refresh_from_db(fields=["delivery_error"])
            log.error("giving up delivering purchase %s after %s attempts", purchase.pk, attempt)
            staff.notify_staff(bot, staff.delivery_failed_alert(purchase, purchase.delivery_error))


def _tell_buyer_delivery_delayed(bot: TeleBot, purchase: Purchase) -> None:
    try:
        bot.send_message(purchase.user.telegram_id, texts.delivery_delayed())
    except Exception:
        log.info("could not tell %s that delivery is delayed", purchase.user.telegram_id)


@task()
def deliver_purchase_task(purchase_id: int, attempt: int = 1, again: bool = False) -> str:
    if Purchase.objects.filter(pk=purchase_id, payment_type=Purchase.PaymentType.TEST).exists():
        return Delivery.SKIPPED.value  # a test purchase is delivered in "Try the bot" only, never over the network
    bot = api_client()
    result = deliver_purchase(bot, purchase_id, again=again)
    if result in (Delivery.BUSY, Delivery.RETRY):
        purchase = Purchase.objects.select_related("product", "user").get(pk=purchase_id)
        delivery_follow_up(bot, purchase, result, attempt=attempt, again=again)
    return result.value


def deliveries_waiting():
    """The delivery tasks not run yet."""
    return DBTaskResult.objects.filter(task_path=deliver_purchase_task.module_path, status=TaskResultStatus.READY)


def deliveries_queued() -> set[int]:
    """Purchases with a delivery task waiting to run (so a sweep does not queue them twice)."""
    return {row["args"][0] for row in deliveries_waiting().values_list("args_kwargs", flat=True) if row.get("args")}


def schedule_deliveries(purchase_ids: list[int]) -> int:
    """Queue a delivery for each purchase that has none waiting; returns how many were queued."""
    queued = deliveries_queued()
    fresh = [purchase_id for purchase_id in purchase_ids if purchase_id not in queued]
    for purchase_id in fresh:
        schedule_delivery(purchase_id)
    return len(fresh)


def schedule_undelivered_for(*, telegram_id: int) -> int:
    """The customer can be reached again (unblocked the bot): queue what they have not received yet."""
    purchases = purchase_list_undelivered_for_user(telegram_id=telegram_id)
    return schedule_deliveries(list(purchases.values_list("id", flat=True)))


BROADCAST_ERROR_PAUSE = timedelta(seconds=30)


def _broadcast_sender_queued(*, by=None) -> bool:
    queued = DBTaskResult.objects.filter(task_path=send_broadcasts_task.module_path, status=TaskResultStatus.READY)
    return (queued if by is None else queued.filter(run_after__lte=by)).exists()


def schedule_broadcast_sending(delay: timedelta = timedelta(0)) -> bool:
    """Queue the broadcast sender, unless a run is queued already by then; True if queued.

    Called for every chunk and when staff start a broadcast, so the check keeps it to one chain
    of tasks (a second chain would only double the pace: no recipient is ever sent to twice).
    """
    run_after = timezone.now() + delay
    if _broadcast_sender_queued(by=run_after):
        return False
    send_broadcasts_task.using(run_after=run_after).enqueue()
    return True


@task()
def send_broadcasts_task() -> str:
    """A few seconds of broadcast sending, then the next run is queued (restarts and cancels act quickly)."""
    try:
        pause = send_broadcasts(api_client())
    except Exception:
        log.exception("sending broadcasts failed; trying again in %s", BROADCAST_ERROR_PAUSE)
        pause = BROADCAST_ERROR_PAUSE.total_seconds()
    if pause is None:
        return "idle"
    schedule_broadcast_sending(timedelta(seconds=pause))
    return "continues"


def revive_broadcast_sending() -> bool:
    """A broadcast is sending but nothing has happened for a while: queue the sender unless a run is
    queued already (waiting out Telegram's flood control, or for a worker to run it)."""
    if _broadcast_sender_queued():
        return False
    send_broadcasts_task.using(run_after=timezone.now()).enqueue()
    return True


def resume_broadcasts() -> bool:
    """After a restart: queue the sender if a broadcast is being sent (its last task may have died with the process)."""
    if broadcast_next_to_send() is None:
        return False
    schedule_broadcast_sending()
    return True


@task()
def restock_notice_task(product_id: int) -> str:
    """Stock was added to a product customers wait for: the broadcast that tells them."""
    broadcast = broadcast_restock(product_id=product_id)
    return f"broadcast {broadcast.pk}" if broadcast else "nobody to tell"


@task()
def stock_alert_task(product_id: int, level: str, available: int) -> str:
    product = Product.objects.filter(pk=product_id).first()
    if product is None:
        return "product gone"
    staff.notify_staff(api_client(), staff.stock_alert(product, level=level, available=available))
    return level


@task()
def referral_reward_notice_task(reward_id: int) -> str:
    """A referrer earned a reward code: tell them (in their language), with the code."""
    reward = ReferralReward.objects.select_related("code", "referral__referrer").filter(pk=reward_id).first()
    if reward is None or reward.withdrawn_at is not None:
        return "no reward to tell"
    referrer, code = reward.referral.referrer, reward.code
    applied = promo_applied(telegram_id=referrer.telegram_id) == code
    with translation.override(texts.language_for(referrer.language_code)):
        text = texts.referral_reward(code.code, percent=code.value, until=code.valid_until, applied=applied)
    api_client().send_message(referrer.telegram_id, text)
    return f"told {referrer.telegram_id}"
