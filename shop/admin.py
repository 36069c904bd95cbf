"""The shop's admin: catalog kept by staff, customers and purchases (read-only money history)."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from shop import services
from shop.models import BotText, Category, Product, Purchase, User
from shop.money import format_price

admin.site.site_header = _("Shop administration")
admin.site.site_title = _("Shop admin")
admin.site.index_title = _("Shop")

SHORT_TEXTAREA = forms.Textarea(attrs={"rows": 2, "cols": 40})


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


class ProductInline(admin.TabularInline):
    model = Product
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
    readonly_fields = ["deep_link", "sold", "created_at", "updated_at"]
    actions = ["put_on_sale", "take_off_sale"]
    fieldsets = [
        (None, {"fields": ["name", "category", "price", "is_active", "description"]}),
        (_("What the buyer receives"), {"fields": ["hidden_content", "file", "file_id"]}),
        (_("Sharing and sales"), {"fields": ["deep_link", "sold", "created_at", "updated_at"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(sold_count=Count("purchases"))

    @admin.display(description=_("price"), ordering="price")
    def price_display(self, obj):
        return format_price(obj.price, obj.currency) if obj.price else _("free")

    @admin.display(description=_("sold"), ordering="sold_count")
    def sold(self, obj):
        return getattr(obj, "sold_count", 0)

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
class CustomerAdmin(ProtectedDeleteMixin, admin.ModelAdmin):
    list_display = [
        "telegram_id",
        "username",
        "first_name",
        "last_name",
        "language_code",
        "is_blocked",
        "purchases_link",
        "created_at",
    ]
    list_filter = ["is_blocked", "language_code"]
    search_fields = ["=telegram_id", "username", "first_name", "last_name"]
    readonly_fields = ["telegram_id", "username", "first_name", "last_name", "language_code", "created_at", "updated_at"]
    fields = [*readonly_fields[:5], "is_blocked", "created_at", "updated_at"]
    inlines = [PurchaseInline]

    def has_add_permission(self, request):
        return False  # customers appear when they start the bot

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(purchase_count=Count("purchases"))

    @admin.display(description=_("purchases"), ordering="purchase_count")
    def purchases_link(self, obj):
        url = reverse("admin:shop_purchase_changelist") + f"?user__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, obj.purchase_count)


@admin.register(Purchase)
class PurchaseAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "user", "product", "amount", "payment_type", "payment_id"]
    list_filter = ["payment_type", "currency", "created_at"]
    list_select_related = ["user", "product"]
    search_fields = ["payment_id", "user__username", "=user__telegram_id", "product__name"]
    date_hierarchy = "created_at"
    fields = ["created_at", "user", "product", "price", "currency", "payment_type", "payment_id"]
    readonly_fields = fields
    show_full_result_count = False

    @admin.display(description=_("price paid"), ordering="price")
    def amount(self, obj):
        return format_price(obj.price, obj.currency)


@admin.register(BotText)
class BotTextAdmin(admin.ModelAdmin):
    list_display = ["key", "language", "updated_at"]
    list_filter = ["key", "language"]
    search_fields = ["text"]
