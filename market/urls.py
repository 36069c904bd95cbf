from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

from botapp.webhook import telegram_webhook

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("telegram/webhook/", telegram_webhook, name="telegram_webhook"),
]
