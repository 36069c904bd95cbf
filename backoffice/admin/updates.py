"""Updates the bot could not read (botapp.unreadable): read-only, for staff to settle by hand."""

import json

from django.contrib import admin
from django.utils.html import format_html

from backoffice.admin.common import ReadOnlyAdminMixin
from botapp.models import UnreadableUpdate


@admin.register(UnreadableUpdate)
class UnreadableUpdateAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["received_at", "update_id", "kind", "is_payment", "error"]
    list_filter = ["is_payment", "kind"]
    search_fields = ["=update_id"]
    fields = ["received_at", "update_id", "kind", "is_payment", "error", "payload_display"]
    readonly_fields = fields

    @admin.display(description=UnreadableUpdate._meta.get_field("payload").verbose_name)
    def payload_display(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.payload, indent=2, ensure_ascii=False))
