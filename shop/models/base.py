"""What every model of the shop shares."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        abstract = True


def storable_string(value: str) -> str:
    """Text from outside made storable in any database: NUL (PostgreSQL refuses it) and lone
    surrogates (not UTF-8) replaced."""
    return value.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")


def storable_text(model: type[models.Model], field: str, value: str | None) -> str:
    """Text from Telegram, made storable (storable_string) and cut to the column."""
    return storable_string(value or "")[: model._meta.get_field(field).max_length]
