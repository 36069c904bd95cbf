"""Customers: everyone who started the bot, what they bought and spent; granting a product."""

import uuid

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from backoffice.admin.broadcasts import BroadcastActionMixin
from backoffice.admin.common import ProtectedDeleteMixin, ReadOnlyAdminMixin, money_lines
from backoffice.permissions import may_see_revenue
from shop.models import Product, Purchase, User
from shop.money import format_price
from shop.selectors.purchases import user_spent_by_currency
from shop.services.payments import purchase_grant
from shop.trial import real_customers, trial_customers

OUT_OF_DATE = _("This form is out of date: open the grant page again.")


class GrantForm(forms.Form):
    product = forms.ModelChoiceField(
        queryset=Product.objects.select_related("category").order_by("category__category_name", "name"),
        label=_("product"),
    )
    # Made when the form is shown: sending the same form twice makes one grant (see purchase_grant).
    token = forms.RegexField(
        regex=r"\A[0-9a-f]{32}\Z",
        widget=forms.HiddenInput,
        error_messages={"required": OUT_OF_DATE, "invalid": OUT_OF_DATE},
    )

    @classmethod
    def new(cls) -> "GrantForm":
        return cls(initial={"token": uuid.uuid4().hex})


class PurchaseInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Purchase
    fields = ["created_at", "product", "amount", "payment_type", "payment_id"]
    readonly_fields = fields
    extra = 0
    show_change_link = True
    ordering = ["-created_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product", "user")

    @admin.display(description=_("price paid"))
    def amount(self, obj):
        return format_price(obj.price, obj.currency)


class TestCustomerFilter(admin.SimpleListFilter):
    """Staff's test customers (Try the bot) are no customers: the list leaves them out unless asked."""

    title = _("test customers")
    parameter_name = "test"

    def lookups(self, request, model_admin):
        return [("only", _("Only test customers (Try the bot)"))]

    def queryset(self, request, queryset):
        return queryset.filter(trial_customers() if self.value() == "only" else real_customers())


@admin.register(User)
class CustomerAdmin(BroadcastActionMixin, ProtectedDeleteMixin, admin.ModelAdmin):
    list_display = [
        "telegram_id",
        "username",
        "name",
        "is_blocked",
        "purchases_link",
        "spent",
        "created_at",
    ]
    list_filter = ["is_blocked", "language_code", TestCustomerFilter]
    search_fields = ["=telegram_id", "username", "first_name", "last_name"]
    readonly_fields = [
        "telegram_id",
        "username",
        "first_name",
        "last_name",
        "language_code",
        "grant_link",
        "support_link",
        "created_at",
        "updated_at",
    ]
    fields = [*readonly_fields[:5], "is_blocked", "grant_link", "support_link", "created_at", "updated_at"]
    inlines = [PurchaseInline]

    class Media:
        css = {"all": ["backoffice/admin.css"]}

    def get_urls(self):
        grant = path("<int:object_id>/grant/", self.admin_site.admin_view(self.grant_view), name="shop_user_grant")
        return [grant, *super().get_urls()]

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if not request.user.has_perm("shop.change_purchase"):
            fields = [f for f in fields if f != "grant_link"]
        if not request.user.has_perm("support.view_supportmessage"):
            fields = [f for f in fields if f != "support_link"]
        return fields

    @admin.display(description=_("grant"))
    def grant_link(self, obj):
        if not obj.pk:
            return "-"
        return format_html('<a href="{}">{}</a>', reverse("admin:shop_user_grant", args=[obj.pk]), _("Grant a product…"))

    @admin.display(description=_("support"))
    def support_link(self, obj):
        if not obj.pk:
            return "-"
        count = obj.support_messages.count()
        url = reverse("admin:support_supportmessage_changelist") + f"?customer__id__exact={obj.pk}"
        text = ngettext("%(count)d message", "%(count)d messages", count) % {"count": count}
        return format_html('<a href="{}">{}</a>', url, text)

    def grant_view(self, request, object_id):
        if not request.user.has_perm("shop.change_purchase"):
            raise PermissionDenied
        customer = get_object_or_404(User, pk=object_id)
        form = GrantForm(request.POST) if request.method == "POST" else GrantForm.new()
        if form.is_bound and form.is_valid():
            try:
                purchase, created = purchase_grant(
                    user=customer, product=form.cleaned_data["product"], token=form.cleaned_data["token"]
                )
            except ValidationError as exc:
                form.add_error("product", exc)
            else:
                done = {"product": purchase.product, "customer": customer}
                if created:
                    message = _("%(product)s granted to %(customer)s; the bot delivers it within seconds.")
                else:
                    message = _("Already granted: %(product)s to %(customer)s (this form was sent twice; it counts once).")
                self.message_user(request, message % done, messages.SUCCESS)
                return redirect("admin:shop_user_change", customer.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Grant a product to %(customer)s") % {"customer": customer},
            "opts": self.opts,
            "customer": customer,
            "form": form,
        }
        return TemplateResponse(request, "admin/shop/user/grant.html", context)

    def has_add_permission(self, request):
        return False  # customers appear when they start the bot

    def get_changelist(self, request, **kwargs):
        return CustomerChangeList

    def get_list_display(self, request):
        if may_see_revenue(request):
            return self.list_display
        return [
            column if column != "purchases_link" else "purchase_count_display"
            for column in self.list_display
            if column != "spent"
        ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(purchase_count=Count("purchases"))

    @admin.display(description=_("name"), ordering="first_name")
    def name(self, obj):
        return " ".join(part for part in (obj.first_name, obj.last_name) if part) or "-"

    @admin.display(description=_("purchases"), ordering="purchase_count")
    def purchases_link(self, obj):
        url = reverse("admin:shop_purchase_changelist") + f"?user__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, obj.purchase_count)

    @admin.display(description=_("purchases"), ordering="purchase_count")
    def purchase_count_display(self, obj):
        return obj.purchase_count

    @admin.display(description=_("spent"))
    def spent(self, obj):
        return money_lines(getattr(obj, "spent", []))


class CustomerChangeList(ChangeList):
    """Each customer on the page gets `spent` (per currency) from one query for the whole page."""

    def get_results(self, request):
        super().get_results(request)
        if "spent" not in self.list_display:
            return
        spent = user_spent_by_currency(user_ids=[user.pk for user in self.result_list])
        for user in self.result_list:
            user.spent = spent.get(user.pk, [])
