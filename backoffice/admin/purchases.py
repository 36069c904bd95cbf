"""Purchases and unmatched payments: the money history, read-only, with refunds, redelivery and CSV."""

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from backoffice.admin.common import ReadOnlyAdminMixin
from backoffice.admin.stock import may_see_units
from backoffice.display import purchase_status
from backoffice.exports import purchases_csv_response
from botapp.telegram.refunds import refund_star_payment
from shop.models import Purchase, UnmatchedPayment
from shop.money import format_price
from shop.selectors.purchases import purchase_totals_by_currency
from shop.services.delivery import purchase_request_delivery
from shop.services.payments import purchase_refund
from shop.services.trial import trial_purchases_delete
from shop.stock.services import stock_return


class DeliveredFilter(admin.SimpleListFilter):
    title = _("content delivered")
    parameter_name = "delivered"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(delivered_at__isnull=self.value() == "no")
        return queryset


class ReviewFilter(admin.SimpleListFilter):
    title = _("needs review")
    parameter_name = "review"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(review_reason="")
        if self.value() == "no":
            return queryset.filter(review_reason="")
        return queryset


@admin.register(Purchase)
class PurchaseAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    # Fits a 1366 px screen beside the sidebar and the filters: delivery and review show in the status column.
    list_display = ["created_at", "user", "product", "amount", "payment_type", "status_display"]
    list_filter = ["status", "payment_type", "currency", DeliveredFilter, ReviewFilter, "created_at"]
    date_hierarchy = "created_at"  # drawn by shop_admin.date_hierarchy_from_range: no full-table scan
    list_select_related = ["user", "product"]
    search_fields = ["payment_id", "user__username", "=user__telegram_id", "product__name"]
    fields = [
        "created_at",
        "user",
        "product",
        "price",
        "quantity",
        "units",
        "currency",
        "payment_type",
        "payment_id",
        "provider_payment_id",
        "status",
        "refunded_at",
        "review_reason",
        "delivered_at",
        "delivery_error",
    ]
    readonly_fields = fields
    show_full_result_count = False
    actions = ["refund", "return_units", "deliver_content", "export_csv", "delete_test_purchases"]

    class Media:
        css = {"all": ["backoffice/admin.css"]}

    def get_urls(self):
        export = path("export/", self.admin_site.admin_view(self.export_view), name="shop_purchase_export")
        return [export, *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:  # not a redirect after an action
            response.context_data["totals"] = purchase_totals_by_currency(purchases=changelist.queryset)
        return response

    def export_view(self, request):
        """The whole filtered, searched and sorted list as CSV, as the changelist shows it."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return redirect("admin:shop_purchase_changelist")
        return purchases_csv_response(changelist.queryset)

    def has_staff_action_permission(self, request):
        return request.user.has_perm("shop.change_purchase")

    def has_delete_permission(self, request, obj=None):
        """Only test purchases (staff trying the bot) can be deleted: they are no money."""
        return obj is not None and obj.payment_type == Purchase.PaymentType.TEST and self.has_staff_action_permission(request)

    @admin.action(description=_("Delete selected test purchases"), permissions=["staff_action"])
    def delete_test_purchases(self, request, queryset):
        deleted = trial_purchases_delete(purchases=queryset)
        skipped = queryset.count()  # what is left of the selection: real purchases
        self.message_user(
            request, ngettext("%(n)d test purchase deleted.", "%(n)d test purchases deleted.", deleted) % {"n": deleted}
        )
        if skipped:
            self.message_user(request, _("Real purchases are never deleted; they were left as they are."), messages.WARNING)

    @admin.display(description=_("price paid"), ordering="price")
    def amount(self, obj):
        return format_price(obj.price, obj.currency)

    @admin.display(description=_("status"), ordering="status")
    def status_display(self, obj):
        return purchase_status(obj)

    @admin.action(description=_("Export selected to CSV"))
    def export_csv(self, request, queryset):
        return purchases_csv_response(queryset)

    @admin.action(description=_("Refund selected Stars payments"), permissions=["staff_action"])
    def refund(self, request, queryset):
        refunded = 0
        for purchase in queryset.select_related("user", "product"):
            try:
                purchase_refund(purchase=purchase, refund=refund_star_payment)
            except ValidationError as exc:
                self.message_user(request, f"{purchase.payment_id}: {' '.join(exc.messages)}", messages.ERROR)
            else:
                refunded += 1
        if refunded:
            message = ngettext("%(count)d payment refunded.", "%(count)d payments refunded.", refunded)
            self.message_user(request, message % {"count": refunded}, messages.SUCCESS)

    def get_fields(self, request, obj=None):
        units = "units" if may_see_units(request) else "units_hidden"
        return [units if field == "units" else field for field in self.fields]

    def get_readonly_fields(self, request, obj=None):
        return [*self.fields, "units_hidden"]

    @admin.display(description=_("units from stock"))
    def units_hidden(self, obj):
        count = obj.units.count()
        if not count:
            return "-"
        return ngettext(
            "%(n)d unit (shown to staff who may change products)",
            "%(n)d units (shown to staff who may change products)",
            count,
        ) % {"n": count}

    @admin.display(description=_("units from stock"))
    def units(self, obj):
        units = list(obj.units.order_by("id"))
        if not units:
            return "-"
        return format_html_join(
            mark_safe("<br>"),
            '<a href="{}"><code>{}</code></a>{}',
            (
                (
                    reverse("admin:stock_stockunit_change", args=[unit.pk]),
                    unit.content,
                    _(" (put back in stock)") if unit.returned_at else "",
                )
                for unit in units
            ),
        )

    @admin.action(description=_("Put the units of selected refunded purchases back in stock"), permissions=["staff_action"])
    def return_units(self, request, queryset):
        returned = 0
        for purchase in queryset.select_related("product"):
            try:
                returned += stock_return(purchase=purchase)
            except ValidationError as exc:
                self.message_user(request, f"{purchase.payment_id}: {' '.join(exc.messages)}", messages.ERROR)
        message = ngettext("%(n)d unit put back in stock.", "%(n)d units put back in stock.", returned) % {"n": returned}
        self.message_user(request, message, messages.SUCCESS if returned else messages.WARNING)

    @admin.action(description=_("Deliver content (approve reviewed payments, resend the rest)"), permissions=["staff_action"])
    def deliver_content(self, request, queryset):
        queued = skipped = 0
        for purchase in queryset.select_related("product"):
            try:
                if purchase_request_delivery(purchase=purchase):
                    queued += 1
                else:
                    skipped += 1
            except ValidationError as exc:  # e.g. not enough stock for one paid while stock ran out
                self.message_user(request, f"{purchase.payment_id}: {' '.join(exc.messages)}", messages.ERROR)
        message = ngettext(
            "%(count)d purchase queued for delivery; the bot sends it within seconds.",
            "%(count)d purchases queued for delivery; the bot sends them within seconds.",
            queued,
        ) % {"count": queued}
        if skipped:
            message += " " + ngettext(
                "%(count)d refunded purchase skipped.", "%(count)d refunded purchases skipped.", skipped
            ) % {"count": skipped}
        self.message_user(request, message, messages.SUCCESS if queued else messages.WARNING)


@admin.register(UnmatchedPayment)
class UnmatchedPaymentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "telegram_id", "amount", "currency", "reason", "payment_id", "refunded_at"]
    search_fields = ["payment_id", "=telegram_id"]
    list_filter = ["currency"]
    fields = [
        "created_at",
        "telegram_id",
        "amount",
        "currency",
        "payment_id",
        "provider_payment_id",
        "payload",
        "reason",
        "refunded_at",
    ]
    readonly_fields = fields

    class Media:
        css = {"all": ["backoffice/admin.css"]}
