"""Support conversations, read-only: what customers wrote and what staff answered, through the bot."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from backoffice.admin.common import ReadOnlyAdminMixin
from shop.support.models import SupportMessage

PREVIEW = 80


@admin.register(SupportMessage)
class SupportMessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Kept as it was relayed; answers are written in Telegram, replying to the customer's message."""

    list_display = ["created_at", "customer", "direction", "kind", "preview", "staff_telegram_id", "delivered"]
    list_filter = ["direction", "delivered", "kind"]
    list_select_related = ["customer"]
    search_fields = ["=customer__telegram_id", "customer__username", "customer__first_name", "text"]
    ordering = ["-created_at", "-id"]
    fields = [
        "created_at",
        "customer",
        "direction",
        "kind",
        "text",
        "file_id",
        "answer_to",
        "staff_telegram_id",
        "delivered",
        "error",
    ]
    readonly_fields = fields

    @admin.display(description=_("text"))
    def preview(self, obj):
        return obj.text if len(obj.text) <= PREVIEW else obj.text[: PREVIEW - 1] + "…"
