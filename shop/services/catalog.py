"""Writes to the catalog."""

from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from shop.models import CatalogVersion, Category, Product


def catalog_changed(**_signal) -> None:
    """Categories or products changed: screens cached under the old catalog version are not used again.

    Connected to every save and delete of a category or product (shop/apps.py); writes that bypass
    them (QuerySet.update, bulk_create) call it themselves.
    """
    if CatalogVersion.objects.filter(pk=1).update(version=F("version") + 1):
        return
    try:
        with transaction.atomic():
            CatalogVersion.objects.create(pk=1, version=1)
    except IntegrityError:  # created just now by another writer
        CatalogVersion.objects.filter(pk=1).update(version=F("version") + 1)


def product_set_on_sale(*, products: QuerySet[Product], on_sale: bool) -> int:
    """Put products on sale or take them off sale; returns how many changed."""
    changed = products.exclude(is_active=on_sale).update(is_active=on_sale, updated_at=timezone.now())
    if changed:
        catalog_changed()
    return changed


def product_set_file_id(*, product_id: int, file_id: str) -> None:
    """Remember the id Telegram gave an uploaded file, unless staff typed one meanwhile."""
    Product.objects.filter(pk=product_id, file_id="").update(file_id=file_id[:255])


def catalog_add_missing(catalog: list[dict]) -> tuple[int, int]:
    """Add the categories and products of `catalog` that are not there yet (by name); adding it again creates nothing.

    `catalog`: [{"category": name, "products": [{"name", "description", "price", "hidden_content"}, ...]}, ...].
    Returns (categories created, products created).
    """
    categories_created = products_created = 0
    with transaction.atomic():
        for entry in catalog:
            category, created = Category.objects.get_or_create(category_name=entry["category"])
            categories_created += created
            for fields in entry["products"]:
                defaults = {key: value for key, value in fields.items() if key != "name"}
                _product, created = Product.objects.get_or_create(category=category, name=fields["name"], defaults=defaults)
                products_created += created
    return categories_created, products_created
