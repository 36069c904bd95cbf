"""Refunds of Telegram Stars: the one Bot API call staff make through the back office."""

import requests
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from telebot.apihelper import ApiException, ApiTelegramException

from botapp.telegram.client import BotConfigError, api_client
from botapp.telegram.errors import never_reached_telegram

ALREADY_REFUNDED = "CHARGE_ALREADY_REFUNDED"


def refund_star_payment(telegram_id: int, payment_id: str, *, client=None) -> None:
    """Give the Stars back (through `client`, by default the bare Bot API client); raises
    ValidationError with the reason if that did not happen.

    Asking again is safe: a refund Telegram already made counts as done.
    """
    try:
        (client or api_client()).refund_star_payment(telegram_id, payment_id)
    except ApiTelegramException as exc:
        if ALREADY_REFUNDED in (exc.description or ""):
            return  # refunded before (e.g. an earlier try whose answer was lost): record it now
        raise ValidationError(_("Telegram refused the refund: %(reason)s") % {"reason": exc.description}) from exc
    except (requests.RequestException, ApiException) as exc:
        if isinstance(exc, requests.RequestException) and never_reached_telegram(exc):
            raise ValidationError(_("Telegram could not be reached; nothing was refunded. Try again later.")) from exc
        # the request may have reached Telegram before the answer was lost
        raise ValidationError(
            _(
                "Telegram did not answer clearly, so the refund may or may not have been made. "
                "Try again: if it was made, the purchase is then marked refunded."
            )
        ) from exc
    except BotConfigError as exc:
        raise ValidationError(str(exc)) from exc
