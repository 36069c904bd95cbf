"""Promotions: promo codes with their uses, revenue and discount given; each use (with the note of one
honoured after the code ran out); referrals and referrers with what the customers they brought paid.
Figures are annotated in the list's own query (no query per row); revenue only for staff who may see it."""

from django import forms
from django.conf import settings
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from backoffice.admin.common import ReadOnlyAdminMixin
from backoffice.permissions import may_see_revenue
from shop.money import format_price
from shop.promotions.models import PromoCode, PromoRedemption, Referral, Referrer
from shop.promotions.selectors import promo_codes_with_figures, referrals_with_revenue, referrers_with_figures


def _money(amount: int) -> str:
    return format_price(amount, settings.SHOP_CURRENCY)


class _RevenueColumns:
    """Columns named in `revenue_columns` are shown only to staff who may see what customers paid."""

    revenue_columns: tuple[str, ...] = ()

    def get_list_display(self, request):
        columns = super().get_list_display(request)
        return columns if may_see_revenue(request) else [c for c in columns if c not in self.revenue_columns]


class PromoCodeForm(forms.ModelForm):
    class Meta:
        model = PromoCode
        fields = [
            "code",
            "kind",
            "value",
            "is_active",
            "valid_from",
            "valid_until",
            "max_uses",
            "per_customer",
            "first_purchase_only",
            "products",
            "categories",
            "owner",
        ]

    def clean_code(self):
        return (self.cleaned_data.get("code") or "").strip().upper()

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("kind") == PromoCode.Kind.PERCENT and (cleaned.get("value") or 0) > 100:
            self.add_error("value", _("A percentage is at most 100."))
        return cleaned


class PromoRedemptionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = PromoRedemption
    extra = 0
    fields = ["created_at", "user", "purchase", "list_price", "price_paid", "note"]
    readonly_fields = fields
    verbose_name_plural = _("uses")

    def get_queryset(self, request):
        return super().get_queryset(request).filter(purchase__isnull=False).select_related("user", "purchase__product")


@admin.register(PromoCode)
class PromoCodeAdmin(_RevenueColumns, admin.ModelAdmin):
    form = PromoCodeForm
    list_display = [
        "code",
        "discount_display",
        "valid_until",
        "uses_display",
        "revenue_display",
        "discount_given",
        "is_active",
        "owner",
    ]
    revenue_columns = ("revenue_display", "discount_given")
    list_filter = ["is_active", "kind", "first_purchase_only"]
    search_fields = ["code", "owner__username", "=owner__telegram_id"]
    list_select_related = ["owner"]
    filter_horizontal = ["products", "categories"]
    raw_id_fields = ["owner"]
    inlines = [PromoRedemptionInline]
    fieldsets = [
        (None, {"fields": ["code", "kind", "value", "is_active"]}),
        (_("When and how often"), {"fields": ["valid_from", "valid_until", "max_uses", "per_customer", "first_purchase_only"]}),
        (_("For what and whom"), {"fields": ["products", "categories", "owner"]}),
    ]

    def get_queryset(self, request):
        return promo_codes_with_figures().select_related("owner")

    @admin.display(description=_("discount"))
    def discount_display(self, obj):
        return f"{obj.value}%" if obj.kind == PromoCode.Kind.PERCENT else _money(obj.value)

    @admin.display(description=_("uses"), ordering="uses")
    def uses_display(self, obj):
        return f"{obj.uses} / {obj.max_uses}" if obj.max_uses is not None else str(obj.uses)

    @admin.display(description=_("revenue"), ordering="revenue")
    def revenue_display(self, obj):
        return _money(obj.revenue)

    @admin.display(description=_("discount given"), ordering="discount")
    def discount_given(self, obj):
        return _money(obj.discount)


@admin.register(PromoRedemption)
class PromoRedemptionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "code", "user", "purchase", "list_price", "price_paid", "note"]
    list_filter = ["code"]
    list_select_related = ["code", "user", "purchase__product", "purchase__user"]
    search_fields = ["code__code", "user__username", "=user__telegram_id", "note"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(purchase__isnull=False)


@admin.register(Referral)
class ReferralAdmin(_RevenueColumns, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "referrer", "referred", "revenue_display", "reward_code"]
    revenue_columns = ("revenue_display",)
    search_fields = ["referrer__username", "=referrer__telegram_id", "referred__username", "=referred__telegram_id"]

    def get_queryset(self, request):
        return referrals_with_revenue().select_related("reward__code")

    @admin.display(description=_("revenue from the invited customer"), ordering="revenue")
    def revenue_display(self, obj):
        return _money(obj.revenue)

    @admin.display(description=_("reward code"))
    def reward_code(self, obj):
        reward = getattr(obj, "reward", None)
        if reward is None:
            return "-"
        return f"{reward.code} ({_('withdrawn')})" if reward.withdrawn_at else str(reward.code)


@admin.register(Referrer)
class ReferrerAdmin(_RevenueColumns, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "telegram_id", "invited", "revenue_display"]
    revenue_columns = ("revenue_display",)
    search_fields = ["username", "=telegram_id"]

    def get_queryset(self, request):
        return referrers_with_figures()

    @admin.display(description=_("invited customers"), ordering="invited")
    def invited(self, obj):
        return obj.invited

    @admin.display(description=_("revenue from invited customers"), ordering="revenue")
    def revenue_display(self, obj):
        return _money(obj.revenue)
