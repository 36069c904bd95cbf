from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReviewsConfig(AppConfig):
    """Buyers' ratings and reviews of products, moderated by staff."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "shop.reviews"
    label = "reviews"
    verbose_name = _("Reviews")

    def ready(self):
        from shop.reviews import receivers  # noqa: F401 (connects them)
