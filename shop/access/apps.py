from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccessConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "shop.access"
    label = "access"
    verbose_name = _("Chat access")
