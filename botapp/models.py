from django.db import models
from django.utils.translation import gettext_lazy as _


class HandledUpdate(models.Model):
    """Updates the webhook has handled, so a repeat from Telegram is answered without acting twice."""

    update_id = models.BigIntegerField(_("update id"), primary_key=True)
    handled_at = models.DateTimeField(_("handled"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("handled update")
        verbose_name_plural = _("handled updates")

    def __str__(self):
        return str(self.update_id)
