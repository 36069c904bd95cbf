from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupportConfig(AppConfig):
    """Conversations between customers and staff, relayed by the bot."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "shop.support"
    label = "support"
    verbose_name = _("Support")
