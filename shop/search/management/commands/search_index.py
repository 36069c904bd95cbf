from django.core.management.base import BaseCommand

from shop.search.services import search_index_missing, search_index_rebuild


class Command(BaseCommand):
    help = (
        "Index products for search that have no search entry (products added in bulk, bypassing save); "
        "--all reindexes every product."
    )

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="Reindex every product, not only those missing.")

    def handle(self, *args, **options):
        count = search_index_rebuild() if options["all"] else search_index_missing()
        self.stdout.write(f"{count} product(s) indexed for search.")
