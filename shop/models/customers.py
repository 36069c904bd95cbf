"""Customers: the Telegram users who talked to the bot."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from shop.models.base import TimeStampedModel


class User(TimeStampedModel):
    """A Telegram user who talked to the bot (a customer)."""

    telegram_id = models.BigIntegerField(_("Telegram id"), unique=True)
    username = models.CharField(_("username"), max_length=64, blank=True, db_index=True)
    first_name = models.CharField(_("first name"), max_length=255, blank=True)
    last_name = models.CharField(_("last name"), max_length=255, blank=True)
    language_code = models.CharField(_("language"), max_length=35, blank=True)
    is_blocked = models.BooleanField(
        _("blocked the bot"), default=False, help_text=_("The user blocked the bot; messages to them fail.")
    )

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["-created_at"]

    def __str__(self):
        if self.username:
            return f"@{self.username}"
        name = " ".join(p for p in (self.first_name, self.last_name) if p)
        return name or str(self.telegram_id)
