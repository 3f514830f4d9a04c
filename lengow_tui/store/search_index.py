"""The free-text search index over ``orders.search_text`` and the filter that uses it.

SQLite: an FTS5 table (external content, kept by triggers, so every writer — importer, purge, bulk
generator — keeps it right without knowing it exists); a term matches word prefixes, accents and case
folded ("dup" finds "Dupont", "helene" finds "Hélène", "fn-123" finds "FN-12345"). PostgreSQL: a pg_trgm
GIN index serving ``LIKE '%term%'`` (a substring match) when the extension can be created. The FTS
table keeps a prefix index for 3-character prefixes (what a user types first); longer prefixes are
narrow enough without one.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection, and_, bindparam, literal_column, select, table, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import Boolean

FTS_TABLE = "orders_fts"
_WORD = re.compile(r"[^\W_]+")

SQLITE_DDL = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(search_text, content='orders', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2', prefix='3')",
)
SQLITE_TRIGGERS = (
    f"CREATE TRIGGER IF NOT EXISTS orders_fts_ai AFTER INSERT ON orders BEGIN "
    f"INSERT INTO {FTS_TABLE}(rowid, search_text) VALUES (new.id, new.search_text); END",
    f"CREATE TRIGGER IF NOT EXISTS orders_fts_ad AFTER DELETE ON orders BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, search_text) VALUES ('delete', old.id, old.search_text); END",
    f"CREATE TRIGGER IF NOT EXISTS orders_fts_au AFTER UPDATE OF search_text ON orders BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
    f"INSERT INTO {FTS_TABLE}(rowid, search_text) VALUES (new.id, new.search_text); END",
)
SQLITE_TRIGGER_NAMES = ("orders_fts_ai", "orders_fts_ad", "orders_fts_au")
PG_INDEX = "ix_orders_search_trgm"


def create_search_index(conn: Connection) -> None:
    """Create the index for this database (idempotent) and fill it from the existing rows."""
    if conn.dialect.name == "sqlite":
        for statement in SQLITE_DDL + SQLITE_TRIGGERS:
            conn.exec_driver_sql(statement)
        rebuild_search_index(conn)
    elif conn.dialect.name == "postgresql":
        # pg_trgm ships with PostgreSQL but creating an extension needs a privilege the role may lack;
        # without it search still works, by a scan.
        with conn.begin_nested():
            try:
                conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
            except Exception:
                return
        # The extension may live in another schema than ours (installed earlier by someone else).
        schema = conn.exec_driver_sql(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
            "WHERE e.extname = 'pg_trgm'"
        ).scalar_one()
        conn.exec_driver_sql(
            f'CREATE INDEX IF NOT EXISTS {PG_INDEX} ON orders USING gin (search_text "{schema}".gin_trgm_ops)'
        )


def drop_search_index(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        for name in SQLITE_TRIGGER_NAMES:
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {FTS_TABLE}")
    elif conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"DROP INDEX IF EXISTS {PG_INDEX}")


def suspend_search_triggers(conn: Connection) -> None:
    """For bulk loads: stop per-row index upkeep; :func:`resume_search_triggers` rebuilds in one go."""
    if conn.dialect.name == "sqlite":
        for name in SQLITE_TRIGGER_NAMES:
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")


def resume_search_triggers(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        for statement in SQLITE_TRIGGERS:
            conn.exec_driver_sql(statement)
        rebuild_search_index(conn)


def rebuild_search_index(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")


def compact_search_index(conn: Connection) -> None:
    """Merge the index's segments so the words of deleted or rewritten rows are gone from the file
    (FTS5 keeps them in old segments until a merge; the retention purge needs them gone)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('optimize')")
        # SQLite's secure_delete zeroes deleted cells and freed pages, not the copies a b-tree balance
        # leaves in the slack of the pages cells were moved from; the index's blobs, inserted by
        # segment id rather than in order, get moved about. Rewriting its (now compact) table in id
        # order frees every old page (zeroed) and fills new ones by appending, which moves nothing.
        data = f"{FTS_TABLE}_data"
        conn.exec_driver_sql(f"CREATE TEMP TABLE fts_copy AS SELECT id, block FROM {data}")
        conn.exec_driver_sql(f"DELETE FROM {data}")
        conn.exec_driver_sql(f"INSERT INTO {data} (id, block) SELECT id, block FROM fts_copy ORDER BY id")
        conn.exec_driver_sql("DROP TABLE fts_copy")


MIN_PREFIX = 3  # a shorter last word is matched whole: "a*" would merge the lists of thousands of words


def fts_query(search: str) -> str:
    """An FTS5 query: every term must match, as consecutive words, the last one as a word prefix
    when it has at least ``MIN_PREFIX`` characters ("dup" finds "Dupont"; "FN-1234-A" is exact)."""
    phrases = []
    for term in search.split():
        words = _WORD.findall(term.casefold())
        if words:
            prefix = " *" if len(words[-1]) >= MIN_PREFIX else ""
            phrases.append('"' + " ".join(words) + '"' + prefix)
    return " AND ".join(phrases)


# Up to this many matches, a list is read by fetching the matching rows and sorting them; above, by
# walking the sort index and probing each row against the matches (which stops after one page).
DRIVE_LIMIT = 10_000


class SearchMatch(ColumnElement[bool]):
    """``orders`` rows whose search text matches ``search``, rendered per database.

    ``drive`` (SQLite) says whether the matches should drive the query (few matches) or only be probed
    while an index gives the sort order (many): SQLite cannot estimate an FTS result's size itself, so
    the caller who knows it (:func:`search_match_count`) says.
    """

    type = Boolean()
    inherit_cache = False  # the rendering depends on the dialect and the terms
    _is_implicitly_boolean = True  # a predicate: never rendered as "(...) = 1"

    def __init__(self, id_column: Any, search_column: Any, search: str, *, drive: bool = True) -> None:
        self.id_column = id_column
        self.search_column = search_column
        self.search = search
        self.drive = drive


def search_match_count(session: Any, search: str) -> int | None:
    """How many orders match ``search`` (SQLite: read from the index alone, in milliseconds); None where
    it cannot be known cheaply."""
    if session.get_bind().dialect.name != "sqlite":
        return None
    query = fts_query(search)
    if not query:
        return None
    statement = text(f"SELECT count(*) FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :q").bindparams(q=query)
    return int(session.execute(statement).scalar_one())


@compiles(SearchMatch, "sqlite")
def _sqlite_match(element: SearchMatch, compiler: Any, **kw: Any) -> str:
    query = fts_query(element.search)
    if not query:
        return compiler.process(text("1 = 1"), **kw)
    fts = table(FTS_TABLE, literal_column("rowid"))
    matching = select(literal_column("rowid")).select_from(fts).where(
        literal_column(FTS_TABLE).op("MATCH")(bindparam("fts_query", query, unique=True))
    )
    clause = compiler.process(element.id_column.in_(matching.scalar_subquery()), **kw)
    # A unary + makes the column an expression, so SQLite will not use the matches to look rows up.
    return clause if element.drive else "+" + clause


@compiles(SearchMatch)
def _generic_match(element: SearchMatch, compiler: Any, **kw: Any) -> str:
    clauses = []
    for term in element.search.split():
        folded = term.casefold()
        escaped = folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        clauses.append(element.search_column.like(f"%{escaped}%", escape="\\"))
    if not clauses:
        return compiler.process(text("1 = 1"), **kw)
    return compiler.process(and_(*clauses), **kw)



