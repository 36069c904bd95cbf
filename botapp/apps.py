from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BotappConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "botapp"
    verbose_name = _("Telegram bot")

    def ready(self):
        from botapp import receivers  # noqa: F401  (connects the shop's signals to the bot's work)
