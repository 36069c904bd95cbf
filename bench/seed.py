"""Fill a benchmark database: `python bench/seed.py PRODUCTS` (DATABASE_URL from the environment).

Prints the ids the workload needs, as JSON. `python bench/seed.py --purchases` prints the count.
"""

import json
import sys

from bootstrap import setup_django

setup_django()

from shop.models import Category, Product, Purchase  # noqa: E402
from shop.services.catalog import catalog_changed  # noqa: E402


def seed(products: int) -> dict:
    category = Category.objects.create(category_name="Bench keys")
    Category.objects.create(category_name="Bench courses")
    Product.objects.bulk_create(
        Product(category=category, name=f"Key {i:05d}", price=50, hidden_content=f"KEY-{i:05d}") for i in range(products)
    )
    catalog_changed()
    first = Product.objects.filter(category=category).order_by("name", "id").first()
    return {"category_id": category.pk, "product_id": first.pk}


if __name__ == "__main__":
    if sys.argv[1] == "--purchases":
        print(json.dumps({"purchases": Purchase.objects.count()}))
    else:
        print(json.dumps(seed(int(sys.argv[1]))))
