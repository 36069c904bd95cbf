"""What search reads: each product's text, folded for comparing (and on PostgreSQL its full-text document),
and the queries customers page through."""

from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shop.models import Product
from shop.search.words import QUERY_MAX_LENGTH


class ProductSearch(models.Model):
    """A product as search sees it; kept up to date on every save of the product (shop/search/apps.py).

    `text` and `name` are folded (shop/search/words.py), so a plain LIKE finds Cyrillic in any case on
    any database. `document` is the PostgreSQL full-text vector (name weighted A, description B; GIN
    index added by the migration on PostgreSQL only); NULL on SQLite.
    """

    product = models.OneToOneField(Product, on_delete=models.CASCADE, primary_key=True, related_name="search")
    name = models.TextField()
    text = models.TextField()
    document = SearchVectorField(null=True)

    class Meta:
        verbose_name = _("product search entry")
        verbose_name_plural = _("product search entries")

    def __str__(self):
        return self.name


class SavedSearch(models.Model):
    """A query a customer searched for, kept server-side so a results page's buttons carry only its key
    (button data is at most 64 bytes). Forgotten after a week (shop.search.services.KEEP_SEARCHES)."""

    key = models.BigIntegerField(primary_key=True)  # from a hash of the text: the same text, the same key
    text = models.CharField(max_length=QUERY_MAX_LENGTH)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("saved search")
        verbose_name_plural = _("saved searches")

    def __str__(self):
        return self.text
