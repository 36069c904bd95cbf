from django.db import connection, models
from django.utils.translation import gettext_lazy as _


class HandledUpdate(models.Model):
    """Updates the webhook has handled, so a repeat from Telegram is answered without acting twice."""

    update_id = models.BigIntegerField(_("update id"), primary_key=True)
    handled_at = models.DateTimeField(_("handled"), auto_now_add=True, db_index=True)
    # False while a request handles it (a claim); a claim older than CLAIM_LEASE belongs to a request that died.
    done = models.BooleanField(_("done"), default=True)

    class Meta:
        verbose_name = _("handled update")
        verbose_name_plural = _("handled updates")

    def __str__(self):
        return str(self.update_id)


class SetAsideUpdate(models.Model):
    """An update the bot set aside for staff, so that it holds up nothing: the bot library could not
    read it, or (a payment) it could not be handled after many tries."""

    update_id = models.BigIntegerField(_("update id"), primary_key=True)
    kind = models.CharField(_("kind"), max_length=64, help_text=_("What the update carries (message, callback_query...)."))
    is_payment = models.BooleanField(_("payment"), default=False, help_text=_("It carries a payment or a refund."))
    error = models.CharField(_("error"), max_length=255)
    payload = models.JSONField(_("update as Telegram sent it"))
    received_at = models.DateTimeField(_("received"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("update set aside")
        verbose_name_plural = _("updates set aside")
        ordering = ["-received_at"]

    def __str__(self):
        return f"{self.update_id} ({self.kind})"


class PolledBatch(models.Model):
    """The poller's journal: a batch of updates confirmed to Telegram, kept until all of them are handled
    (so a crash loses none; the next start handles the batch again)."""

    id = models.BigAutoField(primary_key=True)
    last_update_id = models.BigIntegerField(_("last update id"))
    updates = models.JSONField(_("updates as Telegram sent them"))
    received_at = models.DateTimeField(_("received"), auto_now_add=True)

    class Meta:
        verbose_name = _("polled batch")
        verbose_name_plural = _("polled batches")

    def __str__(self):
        return str(self.last_update_id)

    @classmethod
    def remove(cls, pk: int) -> None:
        """Take a handled batch off the journal: one DELETE, without the ORM's collecting of related rows
        (nothing refers to a batch) that made it the poller's costliest statement."""
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(cls._meta.db_table)} WHERE id = %s", [pk])


class TrialMessage(models.Model):
    """A message of a chat in "Try the bot" (botapp/simulator.py): what the customer wrote and what the bot
    sent, as the Bot API stand-in keeps it. Kept until its staff member starts over."""

    chat_id = models.BigIntegerField(_("chat"), db_index=True)
    message_id = models.PositiveIntegerField(_("message id"))
    from_bot = models.BooleanField(_("from the bot"), default=True)
    content = models.JSONField(_("content"), default=dict)
    sent_at = models.DateTimeField(_("sent"), auto_now_add=True)
    edited = models.BooleanField(_("edited"), default=False)

    class Meta:
        verbose_name = _("message in Try the bot")
        verbose_name_plural = _("messages in Try the bot")
        ordering = ["chat_id", "message_id"]
        constraints = [models.UniqueConstraint(fields=["chat_id", "message_id"], name="trial_message_unique")]

    def __str__(self):
        return f"{self.chat_id}/{self.message_id}"
