"""The catalog staff keep: categories and products, with the card as the bot shows it."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.actions import delete_selected
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Count, Exists, OuterRef, Q
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from backoffice.admin.common import ProtectedDeleteMixin, money_lines
from backoffice.admin.stock import stock_import_view, units_url
from backoffice.permissions import may_see_revenue
from botapp import screens, texts
from shop.models import Category, Product, Purchase
from shop.money import format_price
from shop.reviews.selectors import rating_summary
from shop.selectors.purchases import product_revenue_by_currency
from shop.services.catalog import product_set_on_sale
from shop.services.pictures import picture_prepare
from shop.stock.selectors import with_stock_figures
from shop.telegram_html import telegram_html_preview

SHORT_TEXTAREA = forms.Textarea(attrs={"rows": 2, "cols": 40})


class PictureFormMixin:
    """A new picture is checked and made Telegram-ready (shop.services.pictures); Telegram's id of the old
    one is forgotten, so the new one is uploaded when the bot first shows it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields.get("picture")
        if field is not None:
            # a plain file field: the shop's check (size first, then the image) gives every error
            field.widget.attrs["accept"] = "image/jpeg,image/png,image/webp"
            self.fields["picture"] = forms.FileField(
                required=False, label=field.label, help_text=field.help_text, widget=field.widget
            )

    def clean_picture(self):
        picture = self.cleaned_data.get("picture")
        if isinstance(picture, UploadedFile):
            return picture_prepare(upload=picture)
        return picture

    def clean(self):
        cleaned = super().clean()
        if "picture" in self.changed_data:
            self.instance.picture_file_id = ""
        return cleaned


class ProductForm(PictureFormMixin, forms.ModelForm):
    def clean(self):
        cleaned = super().clean()
        if "file" in self.changed_data and "file_id" not in self.changed_data:
            # The file id belonged to the old file; the new one is uploaded on its next delivery.
            cleaned["file_id"] = ""
        return cleaned


class CategoryForm(PictureFormMixin, forms.ModelForm):
    pass


def picture_tag(picture, css_class: str = "tg-photo"):
    """The picture as staff see it in a page (served to staff only: backoffice/pictures.py)."""
    return format_html('<img class="{}" src="{}" alt="">', css_class, picture.url)


class ProductInline(admin.TabularInline):
    model = Product
    form = ProductForm
    fields = ["name", "price", "is_active", "hidden_content", "file", "file_id", "sells_units"]
    formfield_overrides = {Product._meta.get_field("hidden_content").__class__: {"widget": SHORT_TEXTAREA}}
    extra = 0
    show_change_link = True


@admin.register(Category)
class CategoryAdmin(ProtectedDeleteMixin, admin.ModelAdmin):
    form = CategoryForm
    list_display = ["category_name", "products_on_sale", "products_total", "created_at"]
    readonly_fields = ["picture_shown"]
    search_fields = ["category_name"]
    inlines = [ProductInline]

    class Media:
        css = {"all": ["backoffice/admin.css"]}

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

    @admin.display(description=_("picture in the bot"))
    def picture_shown(self, obj):
        if not obj.picture:
            return _("No picture: the category's page is text only.")
        return picture_tag(obj.picture, "picture-shown")


def product_deep_link(product: Product) -> str:
    username = settings.TELEGRAM_BOT_USERNAME or "<your_bot>"
    return f"https://t.me/{username}?start=p{product.pk}"


@admin.register(Product)
class ProductAdmin(ProtectedDeleteMixin, admin.ModelAdmin):
    list_display = ["name", "category", "price_display", "is_active", "sold", "in_stock", "updated_at"]
    list_editable = ["is_active"]
    list_filter = ["is_active", "category"]
    list_select_related = ["category"]
    search_fields = ["name", "description", "category__category_name"]
    readonly_fields = ["deep_link", "sold", "revenue", "card_preview", "created_at", "updated_at", "stock_figures"]
    actions = ["delete_selected", "put_on_sale", "take_off_sale"]
    # Sold products cannot be deleted (purchases keep them): these pages say so and offer taking them off sale.
    delete_confirmation_template = "admin/shop/product/delete_confirmation.html"
    sold_delete_selected_template = "admin/shop/product/delete_selected_sold.html"
    fieldsets = [
        (None, {"fields": ["name", "category", "price", "is_active", "description", "picture"]}),
        (_("What the buyer receives"), {"fields": ["hidden_content", "file", "file_id", "file_kind", "sells_units"]}),
        (
            _("Stock"),
            {
                "fields": ["stock_figures", "max_per_order", "low_stock_threshold", "stock_shown_up_to"],
                "description": _("For products sold from stock: each buyer receives their own units."),
            },
        ),
        (_("Sharing and sales"), {"fields": ["deep_link", "sold", "revenue", "created_at", "updated_at"]}),
        (_("In the bot"), {"fields": ["card_preview"]}),
    ]

    class Media:
        css = {"all": ["backoffice/admin.css"]}

    def get_fieldsets(self, request, obj=None):
        if may_see_revenue(request):
            return self.fieldsets
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f != "revenue"]}) for name, options in self.fieldsets
        ]

    def get_queryset(self, request):
        # a refund is not a sale, nor a test purchase (staff trying the bot)
        sold = Count(
            "purchases",
            filter=Q(purchases__status=Purchase.Status.PAID) & ~Q(purchases__payment_type=Purchase.PaymentType.TEST),
        )
        return with_stock_figures(super().get_queryset(request).annotate(sold_count=sold))

    def get_urls(self):
        add_stock = path(
            "<int:object_id>/stock/add/",
            self.admin_site.admin_view(lambda request, object_id: stock_import_view(self, request, object_id)),
            name="shop_product_stock_add",
        )
        return [add_stock, *super().get_urls()]

    @admin.display(description=_("in stock"), ordering="units_unsold")
    def in_stock(self, obj):
        if not obj.sells_units:
            return "-"
        return obj.units_unsold

    @admin.display(description=_("units"))
    def stock_figures(self, obj):
        if not obj.pk or not obj.sells_units:
            return _("Tick “sold from stock” and save to add units.")
        figures = _("%(unsold)d not sold, %(sold)d sold.") % {"unsold": obj.units_unsold, "sold": obj.units_sold}
        return format_html(
            '{} <a class="button" href="{}">{}</a> <a href="{}">{}</a>',
            figures,
            reverse("admin:shop_product_stock_add", args=[obj.pk]),
            _("Add stock"),
            units_url(obj),
            _("See the units"),
        )

    form = ProductForm

    @admin.display(description=_("price"), ordering="price")
    def price_display(self, obj):
        return format_price(obj.price, obj.currency) if obj.price else _("free")

    @admin.display(description=_("sold"), ordering="sold_count")
    def sold(self, obj):
        return getattr(obj, "sold_count", 0)

    @admin.display(description=_("revenue"))
    def revenue(self, obj):
        return money_lines(product_revenue_by_currency(product_id=obj.pk) if obj.pk else [])

    @admin.display(description=_("card in the bot"))
    def card_preview(self, obj):

        if not obj.pk:
            return _("Save the product to see its card.")
        buttons = [texts.button_buy(obj)] if obj.is_active else []
        buttons.append(texts.button_back())
        card = texts.product_card(obj, owned=False)
        as_photo = bool(obj.picture) and screens.fits_caption(card)
        card = screens.card_with_rating(card, rating_summary(product_id=obj.pk), as_photo=as_photo)  # as the bot does
        photo, note = "", ""
        if as_photo:
            photo = picture_tag(obj.picture)
        elif obj.picture:
            note = format_html(
                '<p class="help">{}</p>',
                _(
                    "The card is longer than a photo's caption may be (1024 characters), so the bot shows it as "
                    "text without the picture. Shorten the description to show the picture."
                ),
            )
        return format_html(
            '<div class="tg-preview"><div class="tg-message">{}{}</div><ul class="tg-buttons">{}</ul></div>{}',
            photo,
            telegram_html_preview(card),
            format_html_join("", "<li>{}</li>", ((button,) for button in buttons)),
            note,
        )

    @admin.display(description=_("link to the product in the bot"))
    def deep_link(self, obj):
        if not obj.pk:
            return _("Save the product to get its link.")
        link = product_deep_link(obj)
        if not settings.TELEGRAM_BOT_USERNAME:
            return format_html("{}<br><small>{}</small>", link, _("Set TELEGRAM_BOT_USERNAME to get a ready-to-share link."))
        return format_html('<a href="{0}" target="_blank" rel="noopener">{0}</a>', link)

    @admin.action(description=_("Put selected products on sale"), permissions=["change"])
    def put_on_sale(self, request, queryset):
        changed = product_set_on_sale(products=queryset, on_sale=True)
        message = ngettext("%(count)d product put on sale.", "%(count)d products put on sale.", changed)
        self.message_user(request, message % {"count": changed}, messages.SUCCESS)

    @admin.action(description=_("Take selected products off sale"), permissions=["change"])
    def take_off_sale(self, request, queryset):
        changed = product_set_on_sale(products=queryset, on_sale=False)
        message = ngettext(
            "%(count)d product taken off sale: customers no longer see it; its buyers keep it.",
            "%(count)d products taken off sale: customers no longer see them; their buyers keep them.",
            changed,
        )
        self.message_user(request, message % {"count": changed}, messages.SUCCESS)

    @admin.action(description=delete_selected.short_description, permissions=["delete"])
    def delete_selected(self, request, queryset):
        """Django's, unless some were sold: then which ones, and taking them off sale instead."""
        sold = list(
            queryset.filter(Exists(Purchase.objects.filter(product=OuterRef("pk")))).annotate(purchase_count=Count("purchases"))
        )
        if not sold:
            return delete_selected(self, request, queryset)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Cannot delete sold products"),
            "opts": self.opts,
            "sold": sold,
            "on_sale": [product for product in sold if product.is_active],
            "unsold": list(queryset.exclude(pk__in=[product.pk for product in sold])),
            "can_change": self.has_change_permission(request),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, self.sold_delete_selected_template, context)

    def render_delete_form(self, request, context):
        product = context.get("object")
        if context.get("protected") and product is not None:
            context["purchase_count"] = product.purchases.count()
            context["on_sale"] = [product] if product.is_active else []
            context["can_change"] = self.has_change_permission(request, product)
            context["action_checkbox_name"] = helpers.ACTION_CHECKBOX_NAME
        return super().render_delete_form(request, context)
