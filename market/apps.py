from django.contrib.admin.apps import AdminConfig


class ShopAdminConfig(AdminConfig):
    """Django's admin app, whose `admin.site` is the shop's site (with the dashboard on its front page)."""

    default_site = "shop.admin_site.ShopAdminSite"
