"""Chat access in the admin: which chat a product opens (checked with Telegram at save), and its members: who,
since when, paid until when, renewing or not; staff revoke access (the member is removed and told) or extend it."""

import logging

import requests
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from telebot.apihelper import ApiException, ApiTelegramException

from botapp.access import chat_check, remove_ended_members, subscription_stop
from botapp.telegram.client import BotConfigError, api_client
from shop.access.models import AccessPeriod, ChatAccess, Membership
from shop.access.services import chat_access_check_price, chat_access_checked, membership_extend, membership_revoke

log = logging.getLogger(__name__)


class ChatAccessForm(forms.ModelForm):
    class Meta:
        model = ChatAccess
        fields = ["product", "chat_id", "mode", "entry", "strangers"]

    def clean(self):
        """The bot must be in the chat, an administrator allowed to invite and to ban users; Telegram is asked."""
        cleaned = super().clean()
        product, chat_id = cleaned.get("product"), cleaned.get("chat_id")
        if product is not None and cleaned.get("mode"):
            try:
                chat_access_check_price(mode=cleaned["mode"], price=product.price, currency=product.currency)
            except ValidationError as exc:
                self.add_error("mode", exc)
        if chat_id is None:
            return cleaned
        try:
            check = chat_check(api_client(), chat_id)
        except (ApiTelegramException, ApiException, requests.RequestException, BotConfigError) as exc:
            log.warning("could not check chat %s: %s", chat_id, exc)
            raise ValidationError(_("Telegram could not be asked about this chat just now: try again in a minute.")) from exc
        if check.problems:
            self.add_error("chat_id", [ValidationError(problem) for problem in check.problems])
        else:
            chat_access_checked(access=self.instance, title=check.title)
        return cleaned


@admin.register(ChatAccess)
class ChatAccessAdmin(admin.ModelAdmin):
    form = ChatAccessForm
    list_display = ["product", "chat_display", "mode", "entry", "members_link", "problem"]
    list_filter = ["mode"]
    list_select_related = ["product"]
    search_fields = ["product__name", "chat_title"]
    readonly_fields = ["chat_title", "problem"]

    def get_queryset(self, request):
        active = Q(product__memberships__state=Membership.State.ACTIVE)
        return super().get_queryset(request).annotate(members=Count("product__memberships", filter=active))

    @admin.display(description=_("chat"))
    def chat_display(self, obj):
        return f"{obj.chat_title} ({obj.chat_id})" if obj.chat_title else str(obj.chat_id)

    @admin.display(description=_("members"), ordering="members")
    def members_link(self, obj):
        url = reverse("admin:access_membership_changelist") + f"?product__id__exact={obj.product_id}&state__exact=active"
        return format_html('<a href="{}">{}</a>', url, obj.members)


class AccessPeriodInline(admin.TabularInline):
    model = AccessPeriod
    fields = ["purchase", "starts", "ends", "renewal", "amount"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["-starts"]

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("purchase", "purchase__product", "purchase__user")

    @admin.display(description=_("amount"))
    def amount(self, obj):
        status = "" if obj.purchase.status == "paid" else f" ({obj.purchase.get_status_display()})"
        return f"{obj.purchase.price} {obj.purchase.currency}{status}"


class ExtendForm(ActionForm):
    days = forms.IntegerField(label=_("days"), required=False, min_value=1, max_value=3660, initial=30)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "product", "state", "since", "until_display", "renewing", "end_reason", "removed_at"]
    list_filter = ["product", "state", "renewing", "end_reason"]
    list_select_related = ["user", "product"]
    search_fields = ["user__username", "user__first_name", "user__telegram_id", "product__name"]
    ordering = ["-since", "-id"]
    inlines = [AccessPeriodInline]
    action_form = ExtendForm
    actions = ["revoke", "extend"]
    readonly_fields = [f.name for f in Membership._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request)  # the list's actions only

    @admin.display(description=_("paid until"), ordering="paid_until")
    def until_display(self, obj):
        return _("for good") if obj.for_good and obj.state == Membership.State.ACTIVE else obj.paid_until

    @admin.action(description=_("Revoke access (remove from the chat and tell them)"), permissions=["change"])
    def revoke(self, request, queryset):
        memberships = list(queryset.select_related("user", "product"))
        revoked = [membership for membership in memberships if membership_revoke(membership=membership)]
        try:
            bot = api_client()
            for membership in revoked:  # Telegram must stop taking Stars for access they no longer have
                if not subscription_stop(bot, membership):
                    self.message_user(
                        request,
                        _("%(member)s: Telegram did not cancel the subscription; try again, or refund its renewals.")
                        % {"member": membership},
                        messages.WARNING,
                    )
            remove_ended_members(bot)
        except Exception:  # the periodic check removes them if Telegram cannot be asked now
            log.exception("removing revoked members failed")
        revoked = len(revoked)
        self.message_user(
            request, ngettext("%(n)d member's access revoked.", "%(n)d members' access revoked.", revoked) % {"n": revoked}
        )

    @admin.action(description=_("Extend access by the days given"), permissions=["change"])
    def extend(self, request, queryset):
        try:
            days = forms.IntegerField(min_value=1, max_value=3660).clean(request.POST.get("days"))
        except ValidationError:
            self.message_user(request, _("Give the number of days (1 to 3660)."), messages.ERROR)
            return
        extended = 0
        for membership in queryset:
            try:
                membership_extend(membership=membership, days=days)
                extended += 1
            except ValidationError as exc:
                self.message_user(request, f"{membership}: {' '.join(exc.messages)}", messages.WARNING)
        self.message_user(request, ngettext("%(n)d member extended.", "%(n)d members extended.", extended) % {"n": extended})
