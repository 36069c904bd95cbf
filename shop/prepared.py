"""Reads the hot path makes on every update, compiled to SQL once per process instead of on every call.

Building and compiling a queryset costs Django far more CPU than SQLite takes to run it: the product
card's ownership lookup (a CASE over three EXISTS) took about 1 ms of Python for 0.05 ms of SQL. A
`Prepared` read is written as an ordinary queryset, so the rules it encodes (who owns what, what is on
sale) stay in one place, in the ORM; it is compiled once per database with stand-in values, and each
call runs that SQL with its own values through Django's own row-to-object machinery (the same
converters, `select_related`, annotations).

    PRODUCT = Prepared(lambda product_id: Product.objects.filter(pk=product_id)[:1], product_id=int)
    PRODUCT.first(product_id=7)

Only values that reach the SQL as parameters may vary (ints, strings, aware datetimes): compiling
checks that each stand-in appears among the parameters and that two different sets of stand-ins give
the same SQL, so a read whose SQL depends on a value (None becoming IS NULL, a list's length) is refused
when first run instead of answering wrongly. The read must be evaluated as it is built (slice it for
one row); it is never handed out as a queryset to chain on. Int values are ids: a read given one beyond
the database's 64-bit integers (a forged button; Telegram's ids have at most 52 bits) finds nothing.
"""

import copy
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connections, router
from django.db.models import Model, QuerySet
from django.utils import timezone

KINDS = (int, str, datetime)


INT_RANGE = range(-(2**63), 2**63)


class _NoRow(Exception):
    """A value no row can have (an int beyond 64 bits)."""


class PreparedError(TypeError):
    """A read that cannot be prepared: a value that is not a parameter of its SQL, or SQL that depends on a value."""


def _stand_ins(kinds: dict[str, type], generation: int) -> dict[str, Any]:
    """Values no real read uses, different for each name and each generation."""
    values = {}
    for n, (name, kind) in enumerate(kinds.items()):
        if kind is int:
            values[name] = 9_071_234_567_000 + generation * 1000 + n
        elif kind is str:
            values[name] = f"\x1fprepared:{name}:{generation}\x1f"
        else:
            values[name] = datetime(2991 + generation, 1, 1 + n, 1, 2, 3, 456_789, tzinfo=UTC)
    return values


def _adapt(connection, kind: type, value):
    """The value as Django hands it to the database driver for a column of that kind."""
    if kind is datetime:
        if not isinstance(value, datetime) or timezone.is_naive(value):
            raise PreparedError(f"an aware datetime is needed, not {value!r}")
        return connection.ops.adapt_datetimefield_value(value)
    if type(value) is not kind:  # bool is an int; neither may stand in for the other
        raise PreparedError(f"a {kind.__name__} is needed, not {value!r}")
    if kind is int and value not in INT_RANGE:
        raise _NoRow
    return value


@dataclass(frozen=True)
class _Compiled:
    template: QuerySet
    compiler: Any  # Django's SQLCompiler, with the select and converters of this read
    sql: str
    params: tuple  # constants as they are; None where a value goes
    slots: tuple  # for each parameter: (the value's name, the type to pass it as), or None for a constant


class _CompiledQuery:
    """Stands in for a Query inside a QuerySet: its compiler answers with the SQL compiled before."""

    def __init__(self, compiled: _Compiled, params: tuple):
        self._compiled, self._params = compiled, params

    def get_compiler(self, using=None, connection=None, elide_empty=True):
        compiler = copy.copy(self._compiled.compiler)
        connection = connection or connections[using]
        compiler.connection = connection  # this thread's connection, not the compiling one's
        sql, params = self._compiled.sql, self._params
        compiler.as_sql = lambda *args, **kwargs: (sql, params)
        # The row converters of the read's own columns, found once per connection and kept on it (they die
        # together), where Django would find them again on every run. Any other list of columns (Django's
        # own recursion into composite keys) is looked up as usual.
        compiled, find = self._compiled, compiler.get_converters
        own = compiler.select[0 : compiler.col_count]
        kept = vars(connection).setdefault("_prepared_converters", {})

        def get_converters(expressions):
            if len(expressions) != len(own) or any(e is not s[0] for e, s in zip(expressions, own, strict=True)):
                return find(expressions)
            found = kept.get(id(compiled))
            if found is None or found[0] is not compiled:
                found = kept[id(compiled)] = (compiled, find(expressions))
            return found[1]

        compiler.get_converters = get_converters
        return compiler

    def chain(self, *args, **kwargs):
        raise PreparedError("a prepared read is run as it is, never chained")

    clone = chain

    def __getattr__(self, name):  # what the iterables read of the query (e.g. values_select)
        return getattr(self._compiled.template.query, name)


class Prepared:
    """A read compiled once per database and run with new values: `first(**values)` or `all(**values)`.

    `build(**values)` returns the queryset, ready to evaluate; `kinds` names each value's type.
    """

    def __init__(self, build: Callable[..., QuerySet], **kinds: type):
        if any(kind not in KINDS for kind in kinds.values()):
            raise PreparedError(f"values must be among {[k.__name__ for k in KINDS]}")
        self._build, self._kinds = build, kinds
        self._compiled: dict[tuple[str, str], _Compiled] = {}
        self._lock = threading.Lock()
        self._model: type[Model] | None = None  # known once first built: modules define reads before apps are ready

    def all(self, **values) -> list:
        if values.keys() != self._kinds.keys():
            raise PreparedError(f"values {sorted(self._kinds)} are needed, got {sorted(values)}")
        if self._model is None:
            self._model = self._build(**_stand_ins(self._kinds, 0)).model
        alias = router.db_for_read(self._model)
        connection = connections[alias]
        compiled = self._compiled.get((alias, connection.vendor)) or self._compile(alias)
        try:
            adapted = {name: _adapt(connection, self._kinds[name], value) for name, value in values.items()}
        except _NoRow:
            return []
        slotted = zip(compiled.params, compiled.slots, strict=True)
        params = tuple(value if slot is None else _as(slot, adapted) for value, slot in slotted)
        queryset = QuerySet(model=self._model, query=_CompiledQuery(compiled, params), using=alias)
        queryset._iterable_class = compiled.template._iterable_class
        queryset._fields = compiled.template._fields
        return list(queryset)

    def first(self, **values):
        rows = self.all(**values)
        return rows[0] if rows else None

    def _compile(self, alias: str) -> _Compiled:
        with self._lock:
            connection = connections[alias]
            key = (alias, connection.vendor)
            if key in self._compiled:
                return self._compiled[key]
            shapes = []
            for generation in (1, 2):
                values = _stand_ins(self._kinds, generation)
                template = self._build(**values).using(alias)
                compiler = template.query.get_compiler(using=alias)
                sql, params = compiler.as_sql()
                shapes.append((template, compiler, sql, self._slots(connection, values, params)))
            (template, compiler, sql, (constants, slots)), (_t, _c, other_sql, (other_constants, other_slots)) = shapes
            if sql != other_sql or slots != other_slots or constants != other_constants:
                raise PreparedError(f"the SQL of {self._model.__name__}'s prepared read depends on its values")
            compiler.connection = None  # each run gives its own; the compiling thread's is not kept alive
            compiled = _Compiled(template, compiler, sql, constants, slots)
            self._compiled[key] = compiled
            return compiled

    def _slots(self, connection, values: dict, params) -> tuple[tuple, tuple]:
        """Which parameter is which value: (the constants, None where a value goes; for each parameter the
        value's name and the type the backend wraps it in, e.g. psycopg's Int8 for a bigint, or None)."""
        adapted = {name: _adapt(connection, self._kinds[name], value) for name, value in values.items()}
        slots = tuple(next(((name, type(p)) for name, v in adapted.items() if _same(p, v)), None) for p in params)
        missing = set(self._kinds) - {slot[0] for slot in slots if slot}
        if missing:
            raise PreparedError(f"{sorted(missing)} do not reach the SQL as parameters; they cannot vary in a prepared read")
        constants = tuple(None if slot else p for p, slot in zip(params, slots, strict=True))
        return constants, slots


def _same(param, value) -> bool:
    """The parameter is that value, perhaps in the backend's wrapper (a subclass of its type)."""
    return isinstance(param, type(value)) and not isinstance(param, bool) and param == value


def _as(slot: tuple[str, type], adapted: dict):
    name, wrapper = slot
    value = adapted[name]
    return value if type(value) is wrapper else wrapper(value)
