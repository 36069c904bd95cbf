"""Updates the bot set aside (botapp.set_aside), read-only: staff settle them by hand, then delete them."""

import json

from django.contrib import admin
from django.utils.html import format_html

from botapp.models import SetAsideUpdate


@admin.register(SetAsideUpdate)
class SetAsideUpdateAdmin(admin.ModelAdmin):
    """Staff read what was set aside, settle it by hand (grant, refund), then delete it."""

    list_display = ["received_at", "update_id", "kind", "is_payment", "error"]
    list_filter = ["is_payment", "kind"]
    search_fields = ["=update_id"]
    fields = ["received_at", "update_id", "kind", "is_payment", "error", "payload_display"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False  # only the bot sets updates aside

    def has_change_permission(self, request, obj=None):
        return False  # kept as Telegram sent it; once settled, staff delete it

    @admin.display(description=SetAsideUpdate._meta.get_field("payload").verbose_name)
    def payload_display(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.payload, indent=2, ensure_ascii=False))
