"""The shop's admin: catalog kept by staff, customers and purchases (read-only money history)."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from shop import selectors, services
from shop.admin_broadcast import BroadcastActionMixin  # also registers BroadcastAdmin
from shop.admin_csv import purchases_csv_response
from shop.models import BotText, Category, Product, Purchase, UnmatchedPayment, User
from shop.money import Money, format_price
from shop.telegram_html import telegram_html_preview

SHORT_TEXTAREA = forms.Textarea(attrs={"rows": 2, "cols": 40})


class GrantForm(forms.Form):
    product = forms.ModelChoiceField(
        queryset=Product.objects.select_related("category").order_by("category__category_name", "name"),
        label=_("product"),
    )


class ProtectedDeleteMixin:
    """Deleting what purchases protect: name the purchases, not a missing delete permission.

    Purchases are never deleted (PROTECT), so the lack of a permission to delete them is not
    what stops the deletion; Django would otherwise say so instead of listing them.
    """

    def get_deleted_objects(self, objs, request):
        to_delete, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        if protected:
            perms_needed = set()
        return to_delete, model_count, perms_needed, protected


class ProductForm(forms.ModelForm):
    def clean(self):
        cleaned = super().clean()
        if "file" in self.changed_data and "file_id" not in self.changed_data:
            # The file id belonged to the old file; the new one is uploaded on its next delivery.
            cleaned["file_id"] = ""
        return cleaned


class ProductInline(admin.TabularInline):
    model = Product
    form = ProductForm
    fields = ["name", "price", "is_active", "hidden_content", "file", "file_id"]
    formfield_overrides = {Product._meta.get_field("hidden_content").__class__: {"widget": SHORT_TEXTAREA}}
    extra = 0
    show_change_link = True


@admin.register(Category)
class CategoryAdmin(ProtectedDeleteMixin, admin.ModelAdmin):
    list_display = ["category_name", "products_on_sale", "products_total", "created_at"]
    search_fields = ["category_name"]
    inlines = [ProductInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                on_sale=Count("products", filter=Q(products__is_active=True), distinct=True),
                total=Count("products", distinct=True),
            )
        )

    @admin.display(description=_("on sale"), ordering="on_sale")
    def products_on_sale(self, obj):
        return obj.on_sale

    @admin.display(description=_("products"), ordering="total")
    def products_total(self, obj):
        return obj.total


def money_lines(amounts: list[Money]) -> SafeString | str:
    """One line per currency (never added together), or a dash."""
    return format_html_join(mark_safe("<br>"), '<span class="nowrap">{}</span>', ((money,) for money in amounts)) or "-"


def product_deep_link(product: Product) -> str:
    username = settings.TELEGRAM_BOT_USERNAME or "<your_bot>"
    return f"https://t.me/{username}?start=p{product.pk}"


@admin.register(Product)
class ProductAdmin(ProtectedDeleteMixin, admin.ModelAdmin):
    list_display = ["name", "category", "price_display", "is_active", "sold", "updated_at"]
    list_editable = ["is_active"]
    list_filter = ["is_active", "category"]
    list_select_related = ["category"]
    search_fields = ["name", "description", "category__category_name"]
    readonly_fields = ["deep_link", "sold", "revenue", "card_preview", "created_at", "updated_at"]
    actions = ["put_on_sale", "take_off_sale"]
    fieldsets = [
        (None, {"fields": ["name", "category", "price", "is_active", "description"]}),
        (_("What the buyer receives"), {"fields": ["hidden_content", "file", "file_id"]}),
        (_("Sharing and sales"), {"fields": ["deep_link", "sold", "revenue", "created_at", "updated_at"]}),
        (_("In the bot"), {"fields": ["card_preview"]}),
    ]

    class Media:
        css = {"all": ["shop/admin.css"]}

    def get_queryset(self, request):
        sold = Count("purchases", filter=Q(purchases__status=Purchase.Status.PAID))  # a refund is not a sale
        return super().get_queryset(request).annotate(sold_count=sold)

    form = ProductForm

    @admin.display(description=_("price"), ordering="price")
    def price_display(self, obj):
        return format_price(obj.price, obj.currency) if obj.price else _("free")

    @admin.display(description=_("sold"), ordering="sold_count")
    def sold(self, obj):
        return getattr(obj, "sold_count", 0)

    @admin.display(description=_("revenue"))
    def revenue(self, obj):
        return money_lines(selectors.product_revenue_by_currency(product_id=obj.pk) if obj.pk else [])

    @admin.display(description=_("card in the bot"))
    def card_preview(self, obj):
        from botapp import texts  # the bot's own words for the card and its buttons

        if not obj.pk:
            return _("Save the product to see its card.")
        buttons = [texts.button_buy(obj)] if obj.is_active else []
        buttons.append(texts.button_back())
        return format_html(
            '<div class="tg-preview"><div class="tg-message">{}</div><ul class="tg-buttons">{}</ul></div>',
            telegram_html_preview(texts.product_card(obj, owned=False)),
            format_html_join("", "<li>{}</li>", ((button,) for button in buttons)),
        )

    @admin.display(description=_("link to the product in the bot"))
    def deep_link(self, obj):
        if not obj.pk:
            return _("Save the product to get its link.")
        link = product_deep_link(obj)
        if not settings.TELEGRAM_BOT_USERNAME:
            return format_html("{}<br><small>{}</small>", link, _("Set TELEGRAM_BOT_USERNAME to get a ready-to-share link."))
        return format_html('<a href="{0}" target="_blank" rel="noopener">{0}</a>', link)

    @admin.action(description=_("Put selected products on sale"))
    def put_on_sale(self, request, queryset):
        self._report(request, services.product_set_on_sale(products=queryset, on_sale=True))

    @admin.action(description=_("Take selected products off sale"))
    def take_off_sale(self, request, queryset):
        self._report(request, services.product_set_on_sale(products=queryset, on_sale=False))

    def _report(self, request, changed: int):
        message = ngettext("%(count)d product changed.", "%(count)d products changed.", changed) % {"count": changed}
        self.message_user(request, message, messages.SUCCESS)


class ReadOnlyAdminMixin:
    """Money history: staff look, nobody edits or deletes by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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


@admin.register(User)
class CustomerAdmin(BroadcastActionMixin, ProtectedDeleteMixin, admin.ModelAdmin):
    list_display = [
        "telegram_id",
        "username",
        "first_name",
        "last_name",
        "language_code",
        "is_blocked",
        "purchases_link",
        "spent",
        "created_at",
    ]
    list_filter = ["is_blocked", "language_code"]
    search_fields = ["=telegram_id", "username", "first_name", "last_name"]
    readonly_fields = [
        "telegram_id",
        "username",
        "first_name",
        "last_name",
        "language_code",
        "grant_link",
        "created_at",
        "updated_at",
    ]
    fields = [*readonly_fields[:5], "is_blocked", "grant_link", "created_at", "updated_at"]
    inlines = [PurchaseInline]

    def get_urls(self):
        grant = path("<int:object_id>/grant/", self.admin_site.admin_view(self.grant_view), name="shop_user_grant")
        return [grant, *super().get_urls()]

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if not request.user.has_perm("shop.change_purchase"):
            fields = [f for f in fields if f != "grant_link"]
        return fields

    @admin.display(description=_("grant"))
    def grant_link(self, obj):
        if not obj.pk:
            return "-"
        return format_html('<a href="{}">{}</a>', reverse("admin:shop_user_grant", args=[obj.pk]), _("Grant a product…"))

    def grant_view(self, request, object_id):
        from botapp.tasks import schedule_delivery  # the bot side hands the product over

        if not request.user.has_perm("shop.change_purchase"):
            raise PermissionDenied
        customer = get_object_or_404(User, pk=object_id)
        form = GrantForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                purchase = services.purchase_grant(user=customer, product=form.cleaned_data["product"])
            except ValidationError as exc:
                form.add_error("product", exc)
            else:
                schedule_delivery(purchase.pk)
                self.message_user(
                    request,
                    _("%(product)s granted to %(customer)s; the bot delivers it within seconds.")
                    % {"product": purchase.product, "customer": customer},
                    messages.SUCCESS,
                )
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

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(purchase_count=Count("purchases"))

    @admin.display(description=_("purchases"), ordering="purchase_count")
    def purchases_link(self, obj):
        url = reverse("admin:shop_purchase_changelist") + f"?user__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, obj.purchase_count)

    @admin.display(description=_("spent"))
    def spent(self, obj):
        return money_lines(getattr(obj, "spent", []))


class CustomerChangeList(ChangeList):
    """Each customer on the page gets `spent` (per currency) from one query for the whole page."""

    def get_results(self, request):
        super().get_results(request)
        spent = selectors.user_spent_by_currency(user_ids=[user.pk for user in self.result_list])
        for user in self.result_list:
            user.spent = spent.get(user.pk, [])


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
    list_display = ["created_at", "user", "product", "amount", "payment_type", "status", "delivered", "needs_review"]
    list_filter = ["status", "payment_type", "currency", DeliveredFilter, ReviewFilter, "created_at"]
    date_hierarchy = "created_at"  # drawn by shop_admin.date_hierarchy_from_range: no full-table scan
    list_select_related = ["user", "product"]
    search_fields = ["payment_id", "user__username", "=user__telegram_id", "product__name"]
    fields = [
        "created_at",
        "user",
        "product",
        "price",
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
    actions = ["refund", "deliver_content", "export_csv"]

    class Media:
        css = {"all": ["shop/admin.css"]}

    def get_urls(self):
        export = path("export/", self.admin_site.admin_view(self.export_view), name="shop_purchase_export")
        return [export, *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:  # not a redirect after an action
            response.context_data["totals"] = selectors.purchase_totals_by_currency(purchases=changelist.queryset)
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

    @admin.display(description=_("price paid"), ordering="price")
    def amount(self, obj):
        return format_price(obj.price, obj.currency)

    @admin.display(description=_("delivered"), boolean=True, ordering="delivered_at")
    def delivered(self, obj):
        return obj.delivered_at is not None

    @admin.display(description=_("needs review"), boolean=True)
    def needs_review(self, obj):
        return bool(obj.review_reason)

    @admin.action(description=_("Export selected to CSV"))
    def export_csv(self, request, queryset):
        return purchases_csv_response(queryset)

    @admin.action(description=_("Refund selected Stars payments"), permissions=["staff_action"])
    def refund(self, request, queryset):
        from botapp.gateway import refund_star_payment  # the admin asks the bot side to talk to Telegram

        refunded = 0
        for purchase in queryset.select_related("user", "product"):
            try:
                services.purchase_refund(purchase=purchase, refund=refund_star_payment)
            except ValidationError as exc:
                self.message_user(request, f"{purchase.payment_id}: {' '.join(exc.messages)}", messages.ERROR)
            else:
                refunded += 1
        if refunded:
            message = ngettext("%(count)d payment refunded.", "%(count)d payments refunded.", refunded)
            self.message_user(request, message % {"count": refunded}, messages.SUCCESS)

    @admin.action(description=_("Deliver content (approve reviewed payments, resend the rest)"), permissions=["staff_action"])
    def deliver_content(self, request, queryset):
        from botapp.tasks import schedule_delivery

        queued = skipped = 0
        for purchase in queryset:
            if purchase.status != Purchase.Status.PAID:
                skipped += 1
                continue
            if purchase.review_reason:
                services.purchase_approve(purchase=purchase)
            schedule_delivery(purchase.pk, again=purchase.delivered_at is not None)
            queued += 1
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
    list_display = ["created_at", "telegram_id", "amount", "currency", "reason", "payment_id"]
    search_fields = ["payment_id", "=telegram_id"]
    list_filter = ["currency"]
    fields = ["created_at", "telegram_id", "amount", "currency", "payment_id", "provider_payment_id", "payload", "reason"]
    readonly_fields = fields


@admin.register(BotText)
class BotTextAdmin(admin.ModelAdmin):
    list_display = ["key", "language", "updated_at"]
    list_filter = ["key", "language"]
    search_fields = ["text"]
