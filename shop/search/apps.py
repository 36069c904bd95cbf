from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SearchConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "shop.search"
    label = "search"
    verbose_name = _("Search")

    def ready(self):
        from django.db.models.signals import post_save

        from shop.models import Product
        from shop.search.services import product_search_index_saved

        # Every save of a product (admin, services, fixtures) keeps its search row up to date.
        post_save.connect(product_search_index_saved, sender=Product, dispatch_uid="search_index_product")
