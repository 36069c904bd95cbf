"""The admin site: Django's, with the shop's dashboard on its front page."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from backoffice.dashboard import dashboard_get


class ShopAdminSite(admin.AdminSite):
    site_header = _("Shop administration")
    site_title = _("Shop admin")
    index_title = _("Shop")
    index_template = "admin/shop/dashboard.html"  # the usual index, the dashboard above it

    def index(self, request, extra_context=None):
        context = dict(extra_context or {})
        if request.user.has_perm("shop.view_purchase") or request.user.has_perm("shop.change_purchase"):  # the shop's money
            context["dashboard"] = dashboard_get()
        return super().index(request, context)
