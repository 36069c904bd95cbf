"""Pieces the staff pages of every domain share."""

from django.utils.html import format_html_join
from django.utils.safestring import SafeString, mark_safe

from shop.money import Money


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


class ReadOnlyAdminMixin:
    """Money history: staff look, nobody edits or deletes by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def money_lines(amounts: list[Money]) -> SafeString | str:
    """One line per currency (never added together), or a dash."""
    return format_html_join(mark_safe("<br>"), '<span class="nowrap">{}</span>', ((money,) for money in amounts)) or "-"
