from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class BackofficeConfig(AppConfig):
    """The staff interface: ModelAdmins by domain, dashboard, exports, their templates and static files."""

    default = True
    default_auto_field = "django.db.models.BigAutoField"
    name = "backoffice"
    verbose_name = _("Back office")


class ShopAdminConfig(admin_apps.AdminConfig):
    """Django's admin app (in INSTALLED_APPS in its place), whose `admin.site` is the shop's site."""

    default = False
    default_site = "backoffice.site.ShopAdminSite"
