"""Stock: adding units, holding them for a checkout, selling each to exactly one buyer.

How a unit is never sold twice: units are taken by a conditional UPDATE that only touches units still
unsold (and not held for another checkout), inside the transaction that records the purchase. On
PostgreSQL the candidates are first locked with FOR UPDATE SKIP LOCKED, so concurrent buyers pick
different units instead of waiting on each other; on SQLite write transactions run one at a time
(`transaction_mode` IMMEDIATE). A purchase gets all of its units or none: a short take is rolled back
to its savepoint, and the payment is then recorded as out of stock (its money goes back: see
shop.services.payments).

Holding: when Telegram asks whether a checkout may go ahead (pre-checkout), the units are held for
the invoice's key for HOLD_TIME, so a payment that follows finds them. A hold that runs out puts the
units back on sale by itself (nothing to clean up: "available" means not held, or held until the past).
"""

import bisect
import csv
import hashlib
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from shop import signals
from shop.models import Product, Purchase
from shop.models.base import storable_string
from shop.stock.models import UNIT_MAX_LENGTH, RestockRequest, StockUnit
from shop.stock.selectors import stock_available_count

HOLD_TIME = timedelta(minutes=10)
# The review reason of a payment that came in when stock could not cover it: its money goes back,
# or (staff's choice) its units once stock is added.
OUT_OF_STOCK = "out of stock"
IMPORT_CHUNK = 2000  # units written (and checked for duplicates) per query
REPORTED_DUPLICATES = 20  # line numbers named in the import report


def unit_hash(content: str) -> str:
    return hashlib.sha256(content.encode()).hexdigest()


# --- adding stock ------------------------------------------------------------------------------


@dataclass
class ImportReport:
    added: int = 0
    duplicate_lines: list[int] = field(default_factory=list)  # the first REPORTED_DUPLICATES
    duplicates: int = 0

    def __str__(self) -> str:
        text = ngettext("%(n)d unit added", "%(n)d units added", self.added) % {"n": self.added}
        if self.duplicates:
            lines = ", ".join(str(n) for n in self.duplicate_lines)
            if self.duplicates > len(self.duplicate_lines):
                lines += ", …"
            text += "; " + ngettext(
                "%(n)d duplicate skipped (line %(lines)s)", "%(n)d duplicates skipped (lines %(lines)s)", self.duplicates
            ) % {"n": self.duplicates, "lines": lines}
        return text + "."


@dataclass(frozen=True)
class UnitLine:
    number: int  # in the file or text, from 1
    content: str
    file_id: str = ""


def lines_from_text(text: str) -> Iterator[UnitLine]:
    """One unit a line; empty lines skipped."""
    for number, line in enumerate(io.StringIO(text), start=1):
        if line.strip():
            yield UnitLine(number, line.strip())


def lines_from_file(binary, *, csv_columns: bool = False, header: bool = False) -> Iterator[UnitLine]:
    """Units from an uploaded TXT (one a line) or CSV file, read as it streams (never whole in memory).

    A CSV row's columns are the parts of one unit, joined by ":" (`login,password` → `login:password`);
    with a header row, each part is named (`login: x`, then `password: y` on the next line), and a
    column named `file_id` gives the unit a Telegram file instead.
    """
    text = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="strict", newline="")
    try:
        if not csv_columns:
            for number, line in enumerate(text, start=1):
                if line.strip():
                    yield UnitLine(number, line.strip())
            return
        reader = csv.reader(text, dialect=_dialect(text))
        names = None
        for row in _csv_rows(reader):
            number = reader.line_num
            cells = [cell.strip() for cell in row]
            if header and names is None:
                names = [name.lower() for name in cells]
                continue
            if not any(cells):
                continue
            file_id = ""
            if names and "file_id" in names:
                index = names.index("file_id")
                file_id = cells[index] if index < len(cells) else ""
            parts = [
                (names[i] if names and i < len(names) else "", cell)
                for i, cell in enumerate(cells)
                if cell and not (names and i < len(names) and names[i] == "file_id")
            ]
            if names:
                content = "\n".join(f"{name}: {cell}" if name else cell for name, cell in parts)
            else:
                content = ":".join(cell for _name, cell in parts)
            yield UnitLine(number, content or file_id, file_id)
    except UnicodeDecodeError as exc:
        raise ValidationError(_("The file is not UTF-8 text.")) from exc
    finally:
        text.detach()  # leave the upload open for its owner


def _csv_rows(reader) -> Iterator[list[str]]:
    """The reader's rows; a malformed one (a field too large, a stray quote at the end) names its line."""
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ValidationError(
                _("Line %(line)d of the CSV file cannot be read: %(error)s") % {"line": reader.line_num, "error": exc}
            ) from exc


def _dialect(text: io.TextIOWrapper):
    sample = text.read(8192)
    text.seek(0)
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        return csv.excel


def stock_add(*, product: Product, lines: Iterable[UnitLine]) -> ImportReport:
    """Add units to a product's stock: all of them or, on any error, none.

    A unit already in the product's stock (sold or not), or twice in the input, is skipped and
    reported by line number (never by content: a unit is seen only where staff may see it). A line
    too long to send is an error naming it. Read and written in chunks: memory stays flat for any size.
    """
    if not product.sells_units:
        raise ValidationError(_("This product is not sold from stock: tick “sold from stock” first."))
    try:
        return _stock_add(product, lines)
    except IntegrityError as exc:  # the same units added by someone else at this moment
        raise ValidationError(_("Someone added units to this product at the same moment; nothing was added. Try again.")) from exc


def _stock_add(product: Product, lines: Iterable[UnitLine]) -> ImportReport:
    report = ImportReport()
    seen: set[str] = set()
    with transaction.atomic():
        chunk: list[tuple[int, str, str, str]] = []  # line number, content, hash, file id
        for line in lines:
            content = storable_string(line.content)
            if len(content) > UNIT_MAX_LENGTH:
                raise ValidationError(
                    _("Line %(line)d is %(length)d characters long; a unit may have at most %(max)d.")
                    % {"line": line.number, "length": len(content), "max": UNIT_MAX_LENGTH}
                )
            if len(line.file_id) > 255:
                raise ValidationError(_("Line %(line)d: the file id is too long.") % {"line": line.number})
            digest = unit_hash(content)
            if digest in seen:
                _count_duplicate(report, line.number)
                continue
            seen.add(digest)
            chunk.append((line.number, content, digest, storable_string(line.file_id)))
            if len(chunk) >= IMPORT_CHUNK:
                _write_chunk(product, chunk, report)
                chunk = []
        _write_chunk(product, chunk, report)
        if report.added:
            _after_stock_added(product)
    return report


def _count_duplicate(report: ImportReport, number: int) -> None:
    """Count it; keep the first REPORTED_DUPLICATES line numbers, in order (found in and out of order)."""
    report.duplicates += 1
    bisect.insort(report.duplicate_lines, number)
    del report.duplicate_lines[REPORTED_DUPLICATES:]


def _write_chunk(product: Product, chunk: list[tuple[int, str, str, str]], report: ImportReport) -> None:
    """Skip what the product's stock holds already; insert the rest in one statement (a plain INSERT
    many times over: building 100 000 model objects would take most of an import's time)."""
    if not chunk:
        return
    existing = set(
        StockUnit.objects.filter(
            product=product, returned_at__isnull=True, content_hash__in=[digest for _n, _c, digest, _f in chunk]
        ).values_list("content_hash", flat=True)
    )
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    rows = []
    for number, content, digest, file_id in chunk:
        if digest in existing:
            _count_duplicate(report, number)
        else:
            rows.append((product.pk, content, digest, file_id, now, ""))
    columns = ["product_id", "content", "content_hash", "file_id", "created_at", "reservation"]
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {StockUnit._meta.db_table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})",
            rows,
        )
    report.added += len(rows)


def _after_stock_added(product: Product) -> None:
    """Stock went up: alerts may be sent again; customers waiting for it are told (by the bot's task)."""
    available = stock_available_count(product_id=product.pk, up_to=product.low_stock_threshold + 1)
    if available > product.low_stock_threshold:
        Product.objects.filter(pk=product.pk).exclude(stock_alert="").update(stock_alert="")
    elif available:
        Product.objects.filter(pk=product.pk, stock_alert="out").update(stock_alert="low")
    if RestockRequest.objects.filter(product=product).exists():
        signals.stock_added.send(Product, product_id=product.pk)


def stock_remove_unsold(*, units) -> int:
    """Remove units nobody bought (sold ones are kept with their purchase); returns how many."""
    with transaction.atomic():
        removed, _by_model = StockUnit.objects.filter(pk__in=[u.pk for u in units]).unsold().delete()
    return removed


# --- selling -----------------------------------------------------------------------------------


def _take(product_id: int, quantity: int, **changes) -> int:
    """Change up to `quantity` available units of the product (in the caller's transaction); how many."""
    taken = 0
    for _attempt in range(5):  # rows another buyer took between our read and our write: read again
        now = timezone.now()
        candidates = StockUnit.objects.filter(product_id=product_id).available(now).order_by("id")
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True)
        ids = list(candidates.values_list("id", flat=True)[: quantity - taken])
        if not ids:
            break
        taken += StockUnit.objects.filter(id__in=ids).available(now).update(**changes)
        if taken >= quantity:
            break
    return taken


def stock_hold(*, product: Product, quantity: int, key: str) -> bool:
    """Hold `quantity` units for a checkout (the invoice's `key`) for HOLD_TIME; False if stock is short.

    Asking again for the same invoice (Telegram repeats, the buyer pays again) holds what it already
    holds, plus what is missing.
    """
    until = timezone.now() + HOLD_TIME
    with transaction.atomic():
        held = StockUnit.objects.filter(product=product, purchase__isnull=True, reservation=key).update(reserved_until=until)
        if held >= quantity:
            return True
        with transaction.atomic():  # all or nothing
            if _take(product.pk, quantity - held, reservation=key, reserved_until=until) < quantity - held:
                transaction.set_rollback(True)
                return False
    return True


class OutOfStock(Exception):
    def __init__(self, available: int):
        self.available = available


def stock_allocate(*, purchase: Purchase, key: str = "", quantity: int | None = None) -> None:
    """Give the purchase its units (`quantity`, by default all it paid for): those held for its
    invoice's `key` first, then any available.

    Call inside the transaction that records the purchase. All or nothing: raises OutOfStock (and
    takes none) when stock cannot cover it.
    """
    quantity = purchase.quantity if quantity is None else quantity
    now = timezone.now()
    sold = {"purchase_id": purchase.pk, "sold_at": now, "reserved_until": None}
    try:
        with transaction.atomic():
            taken = 0
            if key:
                held = StockUnit.objects.filter(product_id=purchase.product_id, purchase__isnull=True, reservation=key)
                held_ids = list(held.order_by().values_list("id", flat=True)[:quantity])  # no ORDER BY: by its own index
                if held_ids:  # still ours: a hold that ran out may have gone to another checkout meanwhile
                    taken = StockUnit.objects.filter(id__in=held_ids, purchase__isnull=True, reservation=key).update(**sold)
            if taken < quantity:
                taken += _take(purchase.product_id, quantity - taken, **sold)
            if taken < quantity:
                raise OutOfStock(available=0)  # rolls back what was taken
    except OutOfStock as short:
        short.available = stock_available_count(product_id=purchase.product_id, up_to=quantity)
        raise
    _check_stock_level(purchase.product)


def stock_fill(*, purchase: Purchase) -> None:
    """Give a purchase recorded out of stock the units it paid for, now that staff hand it over.

    The caller holds the purchase's row (select_for_update), so two calls at once fill it once.
    """
    if not purchase.review_reason.startswith(OUT_OF_STOCK):
        return  # it got its units when it was paid (or never had any to get)
    missing = purchase.quantity - purchase.units.filter(returned_at__isnull=True).count()
    if missing > 0:
        stock_allocate(purchase=purchase, quantity=missing)


def _check_stock_level(product: Product) -> None:
    """Alert staff once when stock falls to the product's threshold, and once when it runs out."""
    available = stock_available_count(product_id=product.pk, up_to=product.low_stock_threshold + 1)
    if available == 0:
        level = "out"
        changed = Product.objects.filter(pk=product.pk).exclude(stock_alert="out").update(stock_alert="out")
    elif available <= product.low_stock_threshold:
        level = "low"
        changed = Product.objects.filter(pk=product.pk, stock_alert="").update(stock_alert="low")
    else:
        return
    if changed:
        signals.stock_low.send(Product, product_id=product.pk, level=level, available=available)


def stock_return(*, purchase: Purchase) -> int:
    """Put a refunded purchase's units back on sale (staff's choice: a unit the buyer saw may be burnt).

    The sold units stay with the purchase, marked returned (history is never changed); a copy of each
    goes on sale. Returns how many went back.
    """
    if purchase.status != Purchase.Status.REFUNDED:
        raise ValidationError(_("Only the units of a refunded purchase can go back in stock."))
    now = timezone.now()
    with transaction.atomic():
        units = list(StockUnit.objects.select_for_update().filter(purchase=purchase, returned_at__isnull=True))
        StockUnit.objects.filter(pk__in=[u.pk for u in units]).update(returned_at=now)
        StockUnit.objects.bulk_create(
            [StockUnit(product_id=u.product_id, content=u.content, content_hash=u.content_hash, file_id=u.file_id) for u in units]
        )
        if units:
            _after_stock_added(purchase.product)
    return len(units)


# --- waiting for stock -------------------------------------------------------------------------


def restock_request_add(*, user, product: Product) -> bool:
    """The customer wants to hear when the product is back; False if they had asked already."""
    _request, created = RestockRequest.objects.get_or_create(user=user, product=product)
    return created
