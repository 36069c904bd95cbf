"""Which chat a product lets its buyers into, who is in for how long, and what each payment paid for."""

from datetime import timedelta

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from shop.models import Product, Purchase, User
from shop.models.base import TimeStampedModel

# Telegram renews a Stars subscription every 30 days (createInvoiceLink's subscription_period must be this).
SUBSCRIPTION_PERIOD = timedelta(days=30)
SUBSCRIPTION_PRICE_LIMIT = 10_000  # Stars: Telegram's most for one subscription period
# A renewal is charged when the period ends and its payment may reach the bot a little later: a renewing
# member is removed only this long after the end of what they paid for (a cancelled one right at the end).
RENEWAL_GRACE = timedelta(hours=1)


class ChatAccess(TimeStampedModel):
    """A product that lets its buyers into a private channel or group where the bot is an administrator."""

    class Mode(models.TextChoices):
        FOR_GOOD = "for_good", _("For good (one payment)")
        SUBSCRIPTION = "subscription", _("Monthly Stars subscription")

    class Entry(models.TextChoices):
        JOIN_REQUEST = "join_request", _("Join request the bot approves for buyers")
        INVITE_LINK = "invite_link", _("One-person invite link")

    class Strangers(models.TextChoices):
        DECLINE = "decline", _("Decline")
        LEAVE = "leave", _("Leave for staff")

    product = models.OneToOneField(Product, on_delete=models.CASCADE, related_name="chat_access", verbose_name=_("product"))
    chat_id = models.BigIntegerField(
        _("chat id"),
        help_text=_(
            "The channel's or group's id, like -1001234567890 (forward a post from it to @getidsbot, say). "
            "The bot must be an administrator there, allowed to invite users and to ban them."
        ),
    )
    chat_title = models.CharField(_("chat title"), max_length=255, blank=True, editable=False)
    mode = models.CharField(_("access"), max_length=16, choices=Mode.choices, default=Mode.FOR_GOOD)
    entry = models.CharField(
        _("how buyers join"),
        max_length=16,
        choices=Entry.choices,
        default=Entry.JOIN_REQUEST,
        help_text=_(
            "A join request link can leak without letting anyone else in: the bot approves buyers only. "
            "A one-person link lets in whoever opens it first."
        ),
    )
    strangers = models.CharField(
        _("join requests from people who have not bought"),
        max_length=16,
        choices=Strangers.choices,
        default=Strangers.DECLINE,
    )
    problem = models.CharField(
        _("last problem"),
        max_length=255,
        blank=True,
        editable=False,
        help_text=_("What Telegram last refused in this chat (staff were told once); cleared when the chat is checked again."),
    )

    class Meta:
        verbose_name = _("chat access")
        verbose_name_plural = _("chat access")
        constraints = [
            models.CheckConstraint(condition=Q(mode__in=["for_good", "subscription"]), name="chat_access_mode_valid"),
            models.CheckConstraint(condition=Q(entry__in=["join_request", "invite_link"]), name="chat_access_entry_valid"),
            models.CheckConstraint(condition=Q(strangers__in=["decline", "leave"]), name="chat_access_strangers_valid"),
        ]

    def __str__(self):
        return self.chat_title or str(self.chat_id)

    @property
    def is_subscription(self) -> bool:
        return self.mode == self.Mode.SUBSCRIPTION


class Membership(TimeStampedModel):
    """A customer's access to one product's chat: paid for good, or until a moment (then removed)."""

    class State(models.TextChoices):
        ACTIVE = "active", _("Active")
        ENDED = "ended", _("Ended")

    class EndReason(models.TextChoices):
        NONE = "", _("—")
        NOT_RENEWED = "not_renewed", _("Not renewed")
        EXPIRED = "expired", _("Paid period over")
        REFUNDED = "refunded", _("Refunded")
        REVOKED = "revoked", _("Revoked by staff")

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="memberships", verbose_name=_("customer"))
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="memberships", verbose_name=_("product"))
    state = models.CharField(_("state"), max_length=8, choices=State.choices, default=State.ACTIVE)
    since = models.DateTimeField(_("member since"))
    for_good = models.BooleanField(_("for good"), default=False)
    # the end of the latest paid period, or of the staff's extension if later (None only for good)
    paid_until = models.DateTimeField(_("paid until"), null=True, blank=True)
    extended_until = models.DateTimeField(
        _("extended by staff until"), null=True, blank=True, help_text=_("Counts as paid until then.")
    )
    renewing = models.BooleanField(_("renewing"), default=False, help_text=_("The Stars subscription renews itself."))
    subscription_charge_id = models.CharField(_("subscription payment id"), max_length=255, blank=True)
    end_reason = models.CharField(_("why it ended"), max_length=16, choices=EndReason.choices, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    removed_at = models.DateTimeField(_("removed from the chat"), null=True, blank=True)
    removal_error = models.CharField(_("removal refused"), max_length=255, blank=True)
    invite_link = models.CharField(_("last invite link"), max_length=255, blank=True)
    invite_link_at = models.DateTimeField(_("last invite link made"), null=True, blank=True)
    joined_at = models.DateTimeField(_("join request approved"), null=True, blank=True)

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        ordering = ["-since", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "product"], name="membership_one_per_user_and_product"),
            models.CheckConstraint(condition=Q(state__in=["active", "ended"]), name="membership_state_valid"),
            models.CheckConstraint(
                condition=Q(state="active", ended_at__isnull=True) | Q(state="ended", ended_at__isnull=False),
                name="membership_ended_has_date",
            ),
            models.CheckConstraint(
                condition=Q(for_good=True) | Q(paid_until__isnull=False),
                name="membership_has_an_end_or_is_for_good",
            ),
        ]
        indexes = [models.Index(fields=["state", "paid_until"], name="membership_state_until")]

    def __str__(self):
        return f"{self.user} → {self.product}"

    @property
    def until(self):
        """The end of what was paid for (or given by staff); None for good."""
        return None if self.for_good else self.paid_until


class AccessPeriod(models.Model):
    """What one payment (a Purchase) paid for: from `starts` to `ends` (None: for good)."""

    purchase = models.OneToOneField(Purchase, on_delete=models.PROTECT, related_name="access_period", verbose_name=_("purchase"))
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="periods", verbose_name=_("member"))
    starts = models.DateTimeField(_("from"))
    ends = models.DateTimeField(_("until"), null=True, blank=True)
    renewal = models.BooleanField(_("renewal"), default=False)

    class Meta:
        verbose_name = _("paid period")
        verbose_name_plural = _("paid periods")
        ordering = ["starts", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends__isnull=True) | Q(ends__gt=models.F("starts")), name="period_ends_after_start"
            )
        ]

    def __str__(self):
        return f"{self.starts:%Y-%m-%d} – {self.ends:%Y-%m-%d}" if self.ends else f"{self.starts:%Y-%m-%d} –"
