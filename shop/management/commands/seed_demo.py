from django.core.management.base import BaseCommand

from shop.services import demo_catalog_create


class Command(BaseCommand):
    help = "Fill the catalog with a few demo categories and products. Running it again adds nothing."

    def handle(self, *args, **options):
        categories, products = demo_catalog_create()
        if categories or products:
            self.stdout.write(self.style.SUCCESS(f"Demo catalog: added {categories} categories, {products} products."))
        else:
            self.stdout.write("Demo catalog already present: nothing added.")
