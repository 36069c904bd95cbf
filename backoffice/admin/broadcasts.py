"""Broadcasts in the admin: write a message, preview it, choose recipients, send, watch it go out."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from botapp.tasks import revive_broadcast_sending
from shop.models import Broadcast, BroadcastRecipient
from shop.selectors.broadcasts import BroadcastProgress, broadcast_audience_size, broadcast_progress
from shop.services.broadcasts import broadcast_cancel, broadcast_start
from shop.telegram_html import telegram_html_preview

SELECTION_SESSION_KEY = "broadcast_selected_users"


@admin.register(Broadcast)
class BroadcastAdmin(admin.ModelAdmin):
    list_display = ["created_at", "__str__", "audience", "status", "progress_display", "created_by"]
    list_filter = ["status", "audience"]
    list_select_related = ["created_by"]
    search_fields = ["text"]
    fields = ["text", "button_product", "audience", "product", "selected_users"]
    autocomplete_fields = ["product", "button_product", "selected_users"]
    change_form_template = "admin/shop/broadcast/change_form.html"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                recipient_count=Count("recipients"),
                done_count=Count("recipients", filter=~Q(recipients__status=BroadcastRecipient.Status.PENDING)),
            )
        )

    @admin.display(description=_("progress"))
    def progress_display(self, obj):
        if obj.status == Broadcast.Status.DRAFT:
            return "-"
        return f"{obj.done_count} / {obj.recipient_count}"

    def get_urls(self):
        def view(func, suffix):
            return path(f"<int:object_id>/{suffix}/", self.admin_site.admin_view(func), name=f"shop_broadcast_{suffix}")

        return [
            view(self.start_view, "start"),
            view(self.cancel_view, "cancel"),
            view(self.status_view, "status"),
            *super().get_urls(),
        ]

    # --- Drafts: the ordinary form, a preview and the Send button ---

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        if "from_selection" in request.GET:
            initial["audience"] = Broadcast.Audience.SELECTED
            initial["selected_users"] = request.session.get(SELECTION_SESSION_KEY, [])
        return initial

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
            request.session.pop(SELECTION_SESSION_KEY, None)
        super().save_model(request, obj, form, change)

    def response_add(self, request, obj, post_url_continue=None):
        if "_addanother" in request.POST or "_popup" in request.POST:
            return super().response_add(request, obj, post_url_continue)
        self.message_user(request, _("Draft saved. Check the preview, then send it."), messages.SUCCESS)
        return redirect("admin:shop_broadcast_change", obj.pk)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (obj is None or obj.status == Broadcast.Status.DRAFT)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and (obj is None or obj.status != Broadcast.Status.SENDING)

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset.exclude(status=Broadcast.Status.SENDING))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        broadcast = self.get_object(request, object_id)
        if broadcast is not None and broadcast.status != Broadcast.Status.DRAFT:
            return self.progress_view(request, broadcast)
        context = dict(extra_context or {})
        if broadcast is not None:
            context["preview"] = telegram_html_preview(broadcast.text)
            context["audience_size"] = broadcast_audience_size(broadcast=broadcast)
            context["can_send"] = self._may_send(request)
        return super().change_view(request, object_id, form_url, context)

    def _may_send(self, request) -> bool:
        return super().has_change_permission(request)

    # --- Sending: start, progress, cancel ---

    def start_view(self, request, object_id):
        return self._act(request, object_id, broadcast_start, self._started, messages.SUCCESS)

    def cancel_view(self, request, object_id):
        return self._act(request, object_id, broadcast_cancel, self._cancelled, messages.WARNING)

    @staticmethod
    def _started(count: int) -> str:
        return ngettext(
            "Sending to %(count)d customer; the bot sends about 25 messages a second.",
            "Sending to %(count)d customers; the bot sends about 25 messages a second.",
            count,
        ) % {"count": count}

    @staticmethod
    def _cancelled(count: int) -> str:
        return ngettext(
            "Cancelled: %(count)d customer will not receive it.",
            "Cancelled: %(count)d customers will not receive it.",
            count,
        ) % {"count": count}

    def _act(self, request, object_id, service, report, level):
        """POST only, by staff who may send: run `service(broadcast=...)`, report its count or why it refused."""
        if request.method != "POST" or not self._may_send(request):
            raise PermissionDenied
        broadcast = get_object_or_404(Broadcast, pk=object_id)
        try:
            count = service(broadcast=broadcast)
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
        else:
            self.message_user(request, report(count), level)
        return redirect("admin:shop_broadcast_change", broadcast.pk)

    def _progress(self, request, object_id) -> BroadcastProgress:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        progress = broadcast_progress(broadcast_id=object_id)
        if progress is None:
            raise Broadcast.DoesNotExist
        if progress.stalled:
            revive_broadcast_sending()  # its worker died mid-task, or the task was lost
        return progress

    def status_view(self, request, object_id):
        try:
            progress = self._progress(request, object_id)
        except Broadcast.DoesNotExist:
            return JsonResponse({"error": "not found"}, status=404)
        duration = progress.duration
        return JsonResponse(
            {
                "status": progress.status,
                "status_display": str(Broadcast.Status(progress.status).label),
                "finished": progress.finished,
                "total": progress.total,
                "sent": progress.sent,
                "failed": progress.failed,
                "blocked": progress.blocked,
                "cancelled": progress.cancelled,
                "remaining": progress.remaining,
                "percent": progress.percent,
                "stalled": progress.stalled,
                "waiting": progress.waiting,
                "duration_seconds": None if duration is None else round(duration.total_seconds()),
            }
        )

    def progress_view(self, request, broadcast: Broadcast):
        progress = self._progress(request, broadcast.pk)
        failures = broadcast.recipients.filter(status=BroadcastRecipient.Status.FAILED).select_related("user").order_by("id")[:50]
        context = {
            **self.admin_site.each_context(request),
            "title": _("Broadcast: %(broadcast)s") % {"broadcast": broadcast},
            "opts": self.opts,
            "broadcast": broadcast,
            "preview": telegram_html_preview(broadcast.text),
            "progress": progress,
            "failures": failures,
            "can_cancel": progress.status == Broadcast.Status.SENDING and self._may_send(request),
            "status_url": reverse("admin:shop_broadcast_status", args=[broadcast.pk]),
        }
        return TemplateResponse(request, "admin/shop/broadcast/progress.html", context)


class BroadcastActionMixin:
    """For the customer list: “Message selected customers…” opens a broadcast to them."""

    def get_actions(self, request):
        actions = super().get_actions(request)
        if actions is not None and request.user.has_perm("shop.add_broadcast"):
            action = self.get_action("message_selected_customers")
            actions[action[1]] = action
        return actions

    @admin.action(description=_("Message selected customers…"))
    def message_selected_customers(self, request, queryset):
        request.session[SELECTION_SESSION_KEY] = list(queryset.values_list("pk", flat=True))
        return redirect(reverse("admin:shop_broadcast_add") + "?from_selection=1")
