"""Bot API calls the admin makes on staff's behalf (the admin never imports telebot itself)."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from requests import RequestException
from telebot.apihelper import ApiTelegramException

from botapp.bot import BotConfigError, create_bot


def refund_star_payment(telegram_id: int, payment_id: str) -> None:
    """Give the Stars back; raises ValidationError with Telegram's reason if it refuses."""
    try:
        create_bot().refund_star_payment(telegram_id, payment_id)
    except ApiTelegramException as exc:
        raise ValidationError(_("Telegram refused the refund: %(reason)s") % {"reason": exc.description}) from exc
    except RequestException as exc:
        raise ValidationError(_("Telegram could not be reached; nothing was refunded. Try again later.")) from exc
    except BotConfigError as exc:
        raise ValidationError(str(exc)) from exc
