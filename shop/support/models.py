"""Support: what customers wrote to staff through the bot, the staff's answers, and who is writing now."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from shop.models import User
from shop.models.base import TimeStampedModel


class SupportMessage(TimeStampedModel):
    """One message of a conversation: a customer's to staff, or a staff member's answer to the customer."""

    class Direction(models.TextChoices):
        FROM_CUSTOMER = "in", _("from the customer")
        TO_CUSTOMER = "out", _("to the customer")

    customer = models.ForeignKey(User, on_delete=models.CASCADE, related_name="support_messages", verbose_name=_("customer"))
    direction = models.CharField(_("direction"), max_length=3, choices=Direction.choices)
    kind = models.CharField(_("kind"), max_length=32, help_text=_("What Telegram calls it: text, photo, document…"))
    text = models.TextField(_("text"), blank=True, help_text=_("The text, or the caption of a file."))
    file_id = models.CharField(_("file id"), max_length=255, blank=True)
    chat_message_id = models.BigIntegerField(
        _("message id"),
        help_text=_("The message in the chat it was written in: the customer's, or the staff member's for an answer."),
    )
    staff_telegram_id = models.BigIntegerField(_("answered by (Telegram id)"), null=True, blank=True)
    answer_to = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="answers",
        verbose_name=_("answer to"),
    )
    delivered = models.BooleanField(_("delivered"), default=True)
    error = models.CharField(_("why it was not delivered"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("support message")
        verbose_name_plural = _("support messages")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(direction="in", staff_telegram_id__isnull=True) | Q(direction="out", staff_telegram_id__isnull=False),
                name="supportmessage_answers_name_their_staff",
            ),
        ]

    def __str__(self):
        return f"{self.get_direction_display()}: {self.customer} ({self.kind})"


class SupportCopy(models.Model):
    """Where a customer's message was shown to a staff member: a reply to it there goes back to the customer."""

    message = models.ForeignKey(SupportMessage, on_delete=models.CASCADE, related_name="copies")
    staff_chat_id = models.BigIntegerField()
    staff_message_id = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["staff_chat_id", "staff_message_id"], name="supportcopy_unique_staff_message"),
        ]

    def __str__(self):
        return f"{self.staff_chat_id}/{self.staff_message_id}"


class SupportWait(models.Model):
    """A customer pressed "Write to support": their next message goes to staff, until `expires_at`."""

    telegram_id = models.BigIntegerField(unique=True)
    expires_at = models.DateTimeField()
    # The album the customer is sending (Telegram sends each part as a message): its other parts go to staff too.
    media_group_id = models.CharField(max_length=64, blank=True)

    def __str__(self):
        return f"{self.telegram_id} until {self.expires_at:%Y-%m-%d %H:%M}"
