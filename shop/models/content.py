"""Texts staff write for the bot: help, terms, payment support."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from shop.models.base import TimeStampedModel
from shop.models.catalog import HIDDEN_CONTENT_MAX_LENGTH
from shop.telegram_html import validate_telegram_html, visible_length


class BotText(TimeStampedModel):
    """Texts staff edit in the admin (help, terms, payment support), one per language."""

    class Key(models.TextChoices):
        HELP = "help", _("Help")
        TERMS = "terms", _("Terms of sale (/terms)")
        PAYSUPPORT = "paysupport", _("Payment support (/paysupport)")

    key = models.CharField(_("kind"), max_length=32, choices=Key.choices)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    text = models.TextField(_("text"), validators=[validate_telegram_html], help_text=_("Telegram formatting is allowed."))

    class Meta:
        verbose_name = _("bot text")
        verbose_name_plural = _("bot texts")
        ordering = ["key", "language"]
        constraints = [models.UniqueConstraint(fields=["key", "language"], name="bottext_unique_key_language")]

    def __str__(self):
        return f"{self.get_key_display()} ({self.language})"

    def clean(self):
        if visible_length(self.text) > HIDDEN_CONTENT_MAX_LENGTH:
            raise ValidationError(
                {
                    "text": _("Keep the text to at most %(n)d characters (one Telegram message).")
                    % {"n": HIDDEN_CONTENT_MAX_LENGTH}
                }
            )
