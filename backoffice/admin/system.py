"""The results of background tasks (django-tasks' database backend): for superusers, under "System".

They are the machinery's record (deliveries retried, broadcasts sent in chunks), not the shop's;
staff who are not superusers never see them.
"""

from django.apps import apps
from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from django_tasks_db.admin import DBTaskResultAdmin
from django_tasks_db.models import DBTaskResult

apps.get_app_config("django_tasks_database").verbose_name = _("System")
DBTaskResult._meta.verbose_name = _("background task")
DBTaskResult._meta.verbose_name_plural = _("background tasks")

admin.site.unregister(DBTaskResult)


@admin.register(DBTaskResult)
class BackgroundTaskAdmin(DBTaskResultAdmin):
    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser
