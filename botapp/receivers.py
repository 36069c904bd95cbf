"""What the bot does when the shop announces something (shop/signals.py): it queues the work, nothing more."""

from django.dispatch import receiver

from botapp import reviews, tasks
from shop import signals
from shop.promotions import signals as promotion_signals


@receiver(signals.purchase_granted, dispatch_uid="botapp.deliver_granted")
def deliver_granted(sender, *, purchase_id: int, **kwargs) -> None:
    tasks.schedule_delivery(purchase_id)


@receiver(signals.delivery_requested, dispatch_uid="botapp.deliver_requested")
def deliver_requested(sender, *, purchase_id: int, again: bool, **kwargs) -> None:
    tasks.schedule_delivery(purchase_id, again=again)


@receiver(signals.broadcast_started, dispatch_uid="botapp.send_broadcast")
def send_broadcast(sender, *, broadcast_id: int, **kwargs) -> None:
    tasks.schedule_broadcast_sending()


@receiver(signals.stock_added, dispatch_uid="botapp.restock_notice")
def restock_notice(sender, *, product_id: int, **kwargs) -> None:
    tasks.restock_notice_task.enqueue(product_id)


@receiver(signals.stock_low, dispatch_uid="botapp.stock_alert")
def stock_alert(sender, *, product_id: int, level: str, available: int, **kwargs) -> None:
    tasks.stock_alert_task.enqueue(product_id, level, available)


@receiver(signals.purchase_delivered, dispatch_uid="botapp.review_invitation")
def review_invitation(sender, *, purchase_id: int, **kwargs) -> None:
    reviews.schedule_review_invitation(purchase_id)


@receiver(promotion_signals.referral_rewarded, dispatch_uid="botapp.referral_reward_notice")
def referral_reward_notice(sender, *, reward_id: int, **kwargs) -> None:
    tasks.referral_reward_notice_task.enqueue(reward_id)
