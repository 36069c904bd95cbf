from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StockConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "shop.stock"
    label = "stock"
    verbose_name = _("Stock")
