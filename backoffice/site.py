"""The admin site: Django's, with the shop's dashboard on its front page."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from backoffice.dashboard import dashboard_get
from backoffice.permissions import may_see_revenue
from backoffice.trybot import may_try_the_bot, trybot_app, trybot_urls

# The sidebar's and index's sections: the shop first, the machinery last; any other in between.
SECTION_ORDER = {
    "shop": 0,
    "stock": 1,
    "promotions": 1.5,
    "reviews": 1.6,
    "support": 2,
    "trybot": 2.5,
    "botapp": 3,
    "auth": 8,
    "django_tasks_database": 9,
}


class ShopAdminSite(admin.AdminSite):
    site_header = _("Shop administration")
    site_title = _("Shop admin")
    index_title = _("Shop")
    index_template = "admin/shop/dashboard.html"  # the usual index, the dashboard above it

    def index(self, request, extra_context=None):
        context = dict(extra_context or {})
        if may_see_revenue(request):
            context["dashboard"] = dashboard_get()
        return super().index(request, context)

    def get_app_list(self, request, app_label=None):
        apps = super().get_app_list(request, app_label)
        if app_label is None and may_try_the_bot(request):
            apps.append(trybot_app(request))  # staff chat with the bot as a test customer
        return sorted(apps, key=lambda app: SECTION_ORDER.get(app["app_label"], 5))

    def get_urls(self):
        return [*trybot_urls(self), *super().get_urls()]
