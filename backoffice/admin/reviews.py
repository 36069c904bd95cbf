"""Reviews: what buyers wrote, and staff hiding a review with a reason (or showing it again). A review is never
edited or added by staff; hiding goes through the shop's service, which keeps the product's rating right.
The texts are the customers' own: shown escaped, like every value the admin prints."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from shop.reviews.models import Review
from shop.reviews.services import review_hide, review_show

PREVIEW = 80


class HideForm(forms.Form):
    reason = forms.CharField(
        label=_("Why hide them"),
        max_length=Review._meta.get_field("hidden_reason").max_length,
        widget=forms.TextInput(attrs={"size": 60}),
        help_text=_("Kept with each review, for staff."),
    )


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ["created_at", "product", "user", "stars", "preview", "hidden", "hidden_reason"]
    list_filter = ["hidden", "rating"]
    list_select_related = ["product", "user"]
    search_fields = ["product__name", "=user__telegram_id", "user__username", "text"]
    ordering = ["-created_at", "-id"]
    fields = ["product", "user", "rating", "text", "created_at", "updated_at", "hidden", "hidden_reason"]
    readonly_fields = fields
    actions = ["hide", "show"]

    def has_add_permission(self, request):
        return False  # buyers write reviews in the bot

    def has_delete_permission(self, request, obj=None):
        return False  # hide instead: the rating stays right and the reason is kept

    def save_model(self, request, obj, form, change):
        """Nothing on the page is edited here (hiding is an action): writing the row back could undo a
        rating the buyer changed meanwhile, behind the product rating's back."""

    @admin.display(description=_("rating"), ordering="rating")
    def stars(self, obj):
        return "★" * obj.rating + "☆" * (5 - obj.rating)

    @admin.display(description=_("text"))
    def preview(self, obj):
        return obj.text if len(obj.text) <= PREVIEW else obj.text[: PREVIEW - 1] + "…"

    @admin.action(description=_("Hide selected reviews…"), permissions=["change"])
    def hide(self, request, queryset):
        """Asks for the reason first (a page of its own), then hides them all with it."""
        form = HideForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            for review in queryset:
                review_hide(review=review, reason=form.cleaned_data["reason"])
            count = queryset.count()
            self.message_user(
                request, ngettext("%(n)d review hidden.", "%(n)d reviews hidden.", count) % {"n": count}, messages.SUCCESS
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Hide reviews"),
            "opts": self.opts,
            "reviews": queryset.select_related("product", "user"),
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/reviews/review/hide.html", context)

    @admin.action(description=_("Show selected reviews again"), permissions=["change"])
    def show(self, request, queryset):
        count = 0
        for review in queryset.filter(hidden=True):
            review_show(review=review)
            count += 1
        self.message_user(request, ngettext("%(n)d review shown.", "%(n)d reviews shown.", count) % {"n": count})
