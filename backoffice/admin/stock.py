"""Stock of unique units: adding units (pasted or from a TXT/CSV file), what is left and sold, removing
unsold ones. A unit's content is shown only to staff who may change products, and never in a list."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from shop.models import Product
from shop.stock.models import RestockRequest, StockUnit
from shop.stock.services import lines_from_file, lines_from_text, stock_add, stock_remove_unsold, unit_hash

UNIT_CONTENT_PERMISSION = "shop.change_product"


def may_see_units(request) -> bool:
    return request.user.has_perm(UNIT_CONTENT_PERMISSION)


class StockImportForm(forms.Form):
    text = forms.CharField(
        label=_("Units, one a line"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 12, "cols": 80, "spellcheck": "false"}),
        help_text=_("Paste keys, codes or login:password lines. Empty lines are skipped."),
    )
    file = forms.FileField(
        label=_("Or a file"),
        required=False,
        help_text=_("A .txt file (one unit a line) or a .csv file (a unit's parts in columns), UTF-8."),
    )
    header = forms.BooleanField(
        label=_("The CSV file's first row names its columns"),
        required=False,
        help_text=_("Each part is then shown with its name (“login: …”); a column named file_id gives the unit a file."),
    )

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("text", "").strip() and not cleaned.get("file"):
            raise ValidationError(_("Paste some units, or choose a file."))
        return cleaned

    def lines(self):
        upload = self.cleaned_data.get("file")
        if upload:
            is_csv = upload.name.lower().endswith(".csv")
            return lines_from_file(upload.file, csv_columns=is_csv, header=is_csv and self.cleaned_data["header"])
        return lines_from_text(self.cleaned_data["text"])


def stock_import_view(model_admin: admin.ModelAdmin, request, object_id):
    """ "Add stock" on a product: all the units or, if any line is wrong, none (the error names the line)."""
    if not request.user.has_perm("stock.add_stockunit"):
        raise PermissionDenied
    product = get_object_or_404(Product, pk=object_id)
    form = StockImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            report = stock_add(product=product, lines=form.lines())
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            model_admin.message_user(request, str(report), messages.SUCCESS if report.added else messages.WARNING)
            return redirect("admin:shop_product_change", product.pk)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": _("Add stock to %(product)s") % {"product": product},
        "opts": model_admin.opts,
        "product": product,
        "form": form,
        "units_url": units_url(product),
    }
    return TemplateResponse(request, "admin/stock/stockunit/import.html", context)


def units_url(product: Product) -> str:
    return reverse("admin:stock_stockunit_changelist") + f"?product__id__exact={product.pk}"


class StateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("unsold", _("Not sold")), ("sold", _("Sold")), ("returned", _("Put back in stock"))]

    def queryset(self, request, queryset):
        if self.value() == "unsold":
            return queryset.filter(purchase__isnull=True)
        if self.value() == "sold":
            return queryset.filter(purchase__isnull=False, returned_at__isnull=True)
        if self.value() == "returned":
            return queryset.filter(returned_at__isnull=False)
        return queryset


STATES = {
    "available": _("available"),
    "held": _("held for a checkout"),
    "sold": _("sold"),
    "returned": _("refunded, put back in stock"),
}


@admin.register(StockUnit)
class StockUnitAdmin(admin.ModelAdmin):
    list_display = ["id", "product", "state_display", "purchase_link", "created_at", "sold_at"]
    list_filter = [StateFilter, "product"]
    list_select_related = ["product"]
    search_fields = ["=product__name"]
    search_help_text = _("Paste a unit exactly as it was added to find it (and who bought it).")
    readonly_fields = [
        "product",
        "unit_content",
        "unit_content_hidden",
        "file_id",
        "state_display",
        "purchase_link",
        "created_at",
        "sold_at",
    ]
    actions = ["remove_unsold"]
    show_full_result_count = False

    def get_search_results(self, request, queryset, search_term):
        """A unit is found by its exact content (compared by hash: the list never shows contents)."""
        if not search_term.strip():
            return queryset, False
        by_name, duplicates = super().get_search_results(request, queryset, search_term)
        by_content = queryset.filter(content_hash=unit_hash(search_term.strip()))
        return by_name | by_content, duplicates

    def has_add_permission(self, request):
        return False  # units come in through "Add stock" on the product

    def has_change_permission(self, request, obj=None):
        return False  # a unit is never edited: remove an unsold one and add it again

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and (obj is None or obj.purchase_id is None)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # it would try sold units too: "remove_unsold" skips them
        return actions

    def get_fields(self, request, obj=None):
        content = "unit_content" if may_see_units(request) else "unit_content_hidden"
        return [
            field for field in self.readonly_fields if field not in ("unit_content", "unit_content_hidden") or field == content
        ]

    @admin.display(description=_("content"))
    def unit_content(self, obj):
        return format_html("<code>{}</code>", obj.content)

    @admin.display(description=_("content"))
    def unit_content_hidden(self, obj):
        return _("Hidden: only staff who may change products see units.")

    @admin.display(description=_("state"))
    def state_display(self, obj):
        return STATES[obj.state]

    @admin.display(description=_("purchase"))
    def purchase_link(self, obj):
        if obj.purchase_id is None:
            return "-"
        url = reverse("admin:shop_purchase_change", args=[obj.purchase_id])
        return format_html('<a href="{}">#{}</a>', url, obj.purchase_id)

    @admin.action(description=_("Remove selected units that were not sold"), permissions=["delete"])
    def remove_unsold(self, request, queryset):
        selected = list(queryset)
        removed = stock_remove_unsold(units=selected)
        message = ngettext("%(n)d unit removed.", "%(n)d units removed.", removed) % {"n": removed}
        kept = len(selected) - removed
        if kept:
            message += " " + ngettext(
                "%(n)d sold unit kept: sold units stay with their purchase.",
                "%(n)d sold units kept: sold units stay with their purchase.",
                kept,
            ) % {"n": kept}
        self.message_user(request, message, messages.SUCCESS if removed else messages.WARNING)


@admin.register(RestockRequest)
class RestockRequestAdmin(admin.ModelAdmin):
    """Who waits for a sold-out product (cleared when they are told it is back)."""

    list_display = ["product", "user", "created_at"]
    list_filter = ["product"]
    list_select_related = ["product", "user"]
    readonly_fields = ["product", "user", "created_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
