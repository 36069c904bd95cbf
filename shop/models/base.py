"""What every model of the shop shares."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        abstract = True


def storable_text(model: type[models.Model], field: str, value: str | None) -> str:
    """Text from Telegram, made storable: cut to the column; NUL (PostgreSQL refuses it) and lone
    surrogates (not UTF-8) replaced."""
    text = (value or "").replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")
    return text[: model._meta.get_field(field).max_length]
