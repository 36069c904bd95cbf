import json
from pathlib import Path

from django.core.management.base import BaseCommand

from shop.services.catalog import catalog_add_missing

DEMO_CATALOG = Path(__file__).resolve().parents[2] / "fixtures" / "demo_catalog.json"


class Command(BaseCommand):
    help = "Fill the catalog with a few demo categories and products. Running it again adds nothing."

    def handle(self, *args, **options):
        categories, products = catalog_add_missing(json.loads(DEMO_CATALOG.read_text(encoding="utf-8")))
        if categories or products:
            self.stdout.write(self.style.SUCCESS(f"Demo catalog: added {categories} categories, {products} products."))
        else:
            self.stdout.write("Demo catalog already present: nothing added.")
