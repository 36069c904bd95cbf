from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ShopConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "shop"
    verbose_name = _("Shop")

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from shop.models import Category, Product
        from shop.services.catalog import catalog_changed

        for model in (Category, Product):
            post_save.connect(catalog_changed, sender=model, dispatch_uid=f"catalog_changed_save_{model.__name__}")
            post_delete.connect(catalog_changed, sender=model, dispatch_uid=f"catalog_changed_delete_{model.__name__}")
