"""Updates the bot set aside (botapp.set_aside), read-only: staff settle them by hand, then delete them."""

import json

from django.contrib import admin
from django.utils.html import format_html

from backoffice.admin.common import ReadOnlyAdminMixin
from botapp.models import SetAsideUpdate


@admin.register(SetAsideUpdate)
class SetAsideUpdateAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Staff read what was set aside, settle it by hand (grant, refund), then delete it."""

    list_display = ["received_at", "update_id", "kind", "is_payment", "error"]
    list_filter = ["is_payment", "kind"]
    search_fields = ["=update_id"]
    fields = ["received_at", "update_id", "kind", "is_payment", "error", "payload_display"]
    readonly_fields = fields

    def has_delete_permission(self, request, obj=None):
        return admin.ModelAdmin.has_delete_permission(self, request, obj)  # settled: staff may delete it

    @admin.display(description=SetAsideUpdate._meta.get_field("payload").verbose_name)
    def payload_display(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.payload, indent=2, ensure_ascii=False))
