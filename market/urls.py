from django.conf import settings
from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

from backoffice.pictures import PICTURES_FOLDER, picture_view
from botapp.webhook import telegram_webhook

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("telegram/webhook/", telegram_webhook, name="telegram_webhook"),
    # where the storage's URLs for pictures point (MEDIA_URL); the rest of the media is never served
    path(f"{settings.MEDIA_URL.lstrip('/')}{PICTURES_FOLDER}<path:path>", picture_view, name="picture"),
]
