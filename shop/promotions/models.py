"""Promo codes, their uses, the code a customer applied for their next purchase, referrals and rewards."""

from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _

from shop.models import Category, Product, Purchase, User

# Short enough to travel in the signed invoice payload (Telegram's 128 bytes) with everything else.
CODE_MAX_LENGTH = 16
CODE_PATTERN = r"[A-Z0-9]{3,16}"


class PromoCode(models.Model):
    """A discount customers get by entering the code (case-insensitive; stored upper-case)."""

    class Kind(models.TextChoices):
        PERCENT = "percent", _("Percent off")
        AMOUNT = "amount", _("Amount off")

    code = models.CharField(
        _("code"),
        max_length=CODE_MAX_LENGTH,
        unique=True,
        validators=[RegexValidator(rf"^{CODE_PATTERN}$", _("3 to 16 Latin letters and digits."))],
        help_text=_("3 to 16 Latin letters and digits; customers may type it in any case."),
    )
    kind = models.CharField(_("discount"), max_length=8, choices=Kind.choices, default=Kind.PERCENT)
    value = models.PositiveIntegerField(
        _("value"),
        validators=[MinValueValidator(1)],
        help_text=_("Percent (1-100) or an amount in whole units of the shop currency, per unit bought."),
    )
    valid_from = models.DateTimeField(_("valid from"), null=True, blank=True)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    max_uses = models.PositiveIntegerField(
        _("uses in total"), null=True, blank=True, help_text=_("Empty: no limit. Each purchase with the code is one use.")
    )
    per_customer = models.PositiveIntegerField(_("uses per customer"), default=1, validators=[MinValueValidator(1)])
    products = models.ManyToManyField(
        Product, blank=True, related_name="+", verbose_name=_("only for products"), help_text=_("Empty: any product.")
    )
    categories = models.ManyToManyField(
        Category, blank=True, related_name="+", verbose_name=_("only for categories"), help_text=_("Empty: any category.")
    )
    first_purchase_only = models.BooleanField(_("first purchase only"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    owner = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("only for customer"),
        help_text=_("A personal code (a referral reward): nobody else can use it."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("promo code")
        verbose_name_plural = _("promo codes")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(Upper("code"), name="promocode_unique_any_case"),
            models.CheckConstraint(condition=Q(code__regex=rf"^{CODE_PATTERN}$"), name="promocode_code_format"),
            models.CheckConstraint(condition=Q(value__gte=1), name="promocode_value_positive"),
            models.CheckConstraint(condition=~Q(kind="percent") | Q(value__lte=100), name="promocode_percent_at_most_100"),
            models.CheckConstraint(condition=Q(kind__in=["percent", "amount"]), name="promocode_kind_valid"),
            models.CheckConstraint(condition=Q(per_customer__gte=1), name="promocode_per_customer_positive"),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True) | Q(valid_until__isnull=True) | Q(valid_until__gt=F("valid_from")),
                name="promocode_valid_period",
            ),
        ]

    def __str__(self):
        return self.code

    def save(self, *args, **kwargs):
        self.code = (self.code or "").strip().upper()
        super().save(*args, **kwargs)

    @property
    def discount_label(self) -> str:
        return f"−{self.value}%" if self.kind == self.Kind.PERCENT else f"−{self.value}"


class PromoRedemption(models.Model):
    """One use of a code: held for a checkout (`purchase` empty, until `held_until`), then the purchase's.

    A hold that runs out frees its use by itself (a use counts while held or once it has a purchase).
    """

    code = models.ForeignKey(PromoCode, on_delete=models.PROTECT, related_name="redemptions", verbose_name=_("promo code"))
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", verbose_name=_("customer"))
    key = models.CharField(max_length=32, blank=True, editable=False)  # the invoice's key (its checkout)
    held_until = models.DateTimeField(_("held until"), null=True, blank=True, editable=False)
    purchase = models.OneToOneField(
        Purchase, on_delete=models.PROTECT, null=True, blank=True, related_name="promo", verbose_name=_("purchase")
    )
    list_price = models.PositiveIntegerField(_("list price"), default=0, help_text=_("For all units together."))
    price_paid = models.PositiveIntegerField(_("price paid"), default=0)
    note = models.CharField(_("note"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("promo code use")
        verbose_name_plural = _("promo code uses")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["code", "key"], condition=~Q(key=""), name="promoredemption_one_per_checkout"),
            models.CheckConstraint(
                condition=Q(purchase__isnull=False) | Q(held_until__isnull=False), name="promoredemption_held_or_used"
            ),
        ]
        indexes = [models.Index(fields=["code", "user"], name="promoredemption_code_user")]

    def __str__(self):
        return f"{self.code} → {self.user}"

    @property
    def discount(self) -> int:
        return max(self.list_price - self.price_paid, 0)


class AppliedPromoCode(models.Model):
    """The code a customer applied (a `c…` link, or typed on a card): used for their next purchase."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="+")
    code = models.ForeignKey(PromoCode, on_delete=models.CASCADE, related_name="+")
    applied_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.code_id} for {self.user_id}"


class Referral(models.Model):
    """`referred` started the bot through `referrer`'s link (at their first start)."""

    referred = models.OneToOneField(User, on_delete=models.PROTECT, related_name="referral", verbose_name=_("invited customer"))
    referrer = models.ForeignKey(User, on_delete=models.PROTECT, related_name="referrals", verbose_name=_("invited by"))
    created_at = models.DateTimeField(_("joined"), auto_now_add=True)

    class Meta:
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=~Q(referred=F("referrer")), name="referral_not_self")]

    def __str__(self):
        return f"{self.referrer} → {self.referred}"


class ReferralReward(models.Model):
    """What the referrer got for the referred customer's first paid purchase: once per referred customer."""

    referral = models.OneToOneField(Referral, on_delete=models.PROTECT, related_name="reward", verbose_name=_("referral"))
    purchase = models.OneToOneField(Purchase, on_delete=models.PROTECT, related_name="+", verbose_name=_("first purchase"))
    code = models.OneToOneField(PromoCode, on_delete=models.PROTECT, related_name="reward", verbose_name=_("reward code"))
    created_at = models.DateTimeField(_("granted"), auto_now_add=True)
    withdrawn_at = models.DateTimeField(
        _("withdrawn"), null=True, blank=True, help_text=_("The first purchase was refunded before the code was used.")
    )

    class Meta:
        verbose_name = _("referral reward")
        verbose_name_plural = _("referral rewards")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return str(self.code)


class Referrer(User):
    """A customer seen as someone who brings others (for staff: who brought how many, and what they paid)."""

    class Meta:
        proxy = True
        verbose_name = _("referrer")
        verbose_name_plural = _("referrers")
