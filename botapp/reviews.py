"""The bot's invitation to review: some hours after a purchase first reaches its buyer
(REVIEW_INVITATION_HOURS), a message whose 1-5 buttons rate the product in one tap.

A background task (django-tasks), queued when the delivery is recorded; it asks each buyer once per product,
and not at all if the purchase was refunded meanwhile or they reviewed the product already
(shop.reviews.services.review_invitation_claim decides).
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone, translation
from django_tasks import task
from telebot.apihelper import ApiTelegramException

from botapp import screens
from botapp.telegram.client import api_client
from botapp.texts import language_for
from shop.reviews.services import review_invitation_claim
from shop.services.customers import user_set_blocked

log = logging.getLogger(__name__)


def schedule_review_invitation(purchase_id: int):
    run_after = timezone.now() + timedelta(hours=settings.REVIEW_INVITATION_HOURS)
    return review_invitation_task.using(run_after=run_after).enqueue(purchase_id)


@task()
def review_invitation_task(purchase_id: int) -> str:
    purchase = review_invitation_claim(purchase_id=purchase_id)
    if purchase is None:
        return "not asked"
    with translation.override(language_for(purchase.user.language_code)):
        screen = screens.review_invitation(purchase.product)
    try:
        api_client().send_message(purchase.user.telegram_id, screen.text, reply_markup=screen.markup)
    except ApiTelegramException as exc:
        if exc.error_code == 403:
            user_set_blocked(telegram_id=purchase.user.telegram_id, blocked=True)
        # An invitation is a courtesy: it is not tried again (the card's Rate button stays).
        log.info("could not invite %s to review: %s", purchase.user.telegram_id, exc.description)
        return "not sent"
    return "asked"
