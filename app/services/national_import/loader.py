"""The set-based loader of the national import: staging tables, COPY, checks in SQL, upsert."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import IO, Any, Callable

from sqlalchemy import Date, DateTime, Integer, bindparam, text
from sqlalchemy.exc import IntegrityError

from app.excel import cell_text, csv_width
from app.extensions import db
from app.models.national import NationalRelease
from app.services.national_import import checks, results
from app.services.national_import.checks import WS
from app.services.national_import.files import PlannedSheet
from app.services.national_import.results import ImportResult, RejectedRow, row_cells
from app.services.national_import.schema import Kind

BATCH_SIZE = 5000  # rows per COPY / executemany into the staging table

# -- the loader ---------------------------------------------------------------------
# Python reads and checks each row on its own (formats, lengths, code parts) and keeps
# nothing of it but the rejected rows' report.  Valid rows land in a temporary staging
# table per kind (COPY on PostgreSQL, executemany on SQLite); everything that needs the
# database — a key repeated in the release, the parent that must exist, new / changed /
# unchanged — is then decided set-based in a few statements whose plans see real
# statistics (staging and loaded tables are ANALYZEd inside the transaction).  The cost
# is linear in rows and the memory bounded by one batch, whatever the size.

STAGE_COLUMNS = {
    "certificate": ("number", "product_name", "registrant", "address", "management_class", "valid_from",
                    "valid_to", "structure", "scope", "origin", "registrant_fold", "product_name_fold"),
    "item": ("code", "name", "level1", "level2", "level3", "generic_name", "material", "feature", "enterprise",
             "certificate"),
    "spec": ("code", "spec", "model"),
    "deactivation": ("code", "target", "deactivated_on"),
    "transfer": ("old_code", "new_code", "kind", "pair"),
}
COMPARED = {
    "certificate": ("product_name", "registrant", "address", "management_class", "valid_from", "valid_to",
                    "structure", "scope", "origin", "registrant_fold", "product_name_fold"),
    "item": ("name", "level1", "level2", "level3", "generic_name", "material", "feature", "enterprise",
             "certificate_id"),
    "spec": ("item_id", "spec", "model"),
}
DATE_COLUMNS = {"valid_from", "valid_to", "deactivated_on"}


@dataclass(frozen=True)
class _Parent:
    stage_column: str | None  # the stage column holding the parent's key (None: derived from the code)
    expr: str  # the parent key as SQL over the stage row ``s``
    table: str
    key: str
    fk: str  # the foreign key column of the child


PARENTS = {
    "item": _Parent("certificate", "s.certificate", "national_certificate", "number", "certificate_id"),
    "spec": _Parent(None, "substr(s.code, 1, 20)", "national_item", "code", "item_id"),
}


BULK_MIN_ROWS = 10_000  # below this a first load keeps the indexes (rebuilding them costs more)


def _orphan_reason(kind: Kind, parent_key: str) -> str:
    if kind.key == "item":
        return f"注册备案号“{parent_key}”不在注册证数据中，请先导入该注册证"
    return f"27位码的前20位“{parent_key}”没有对应的单件，请先导入该单件"


class Stage:
    """One kind's staging table inside the import's transaction, then its set-based merge."""

    dup_key: str | None = None  # the column whose repetition is rejected (default: the kind's key)

    def __init__(self, kind: Kind, result: ImportResult, now: dt.datetime, sheet_names: list[str],
                 release: "NationalRelease | None" = None):
        self.kind = kind
        self.result = result
        self.now = now
        self.release = release
        self.sheet_names = sheet_names
        self.conn = db.session.connection()
        self.pg = self.conn.dialect.name == "postgresql"
        self.name = f"national_stage_{kind.key}"
        self.dup = f"national_stage_{kind.key}_dup"
        self.orphan = f"national_stage_{kind.key}_orphan"
        self.columns = STAGE_COLUMNS[kind.key]
        self.counts = result.counts[kind.key]
        self.buffer: list[tuple] = []
        self.rejects_indexed = False
        self.ord = 0
        self.staged = 0
        for name in (self.name, self.dup, self.dup + "_keys", self.orphan):
            self.conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
        types = ", ".join(f"{c} {'date' if c in DATE_COLUMNS else 'text'}" for c in self.columns)
        # ``reason``: set by the checks in SQL (PostgreSQL, .csv) on a row they reject
        self._create(self.name, f"(ord bigint NOT NULL, sheet integer NOT NULL, rownum integer NOT NULL, {types}, "
                                f"reason text)")

    def _create(self, name: str, body: str) -> None:
        """A temporary table (gone at commit on PostgreSQL; dropped after the merge on SQLite)."""
        on_commit = " ON COMMIT DROP" if self.pg else ""
        if body.startswith("("):
            self.conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {name} {body}{on_commit}")
        else:
            self.conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {name}{on_commit} AS {body}")

    def add(self, sheet_index: int, number: int, row: dict[str, Any]) -> None:
        self.ord += 1
        values = [row.get(c) for c in self.columns]
        if not self.pg:  # SQLite stores dates as ISO text, as SQLAlchemy's Date does
            values = [v.isoformat() if isinstance(v, dt.date) else v for v in values]
        self.buffer.append((self.ord, sheet_index, number, *values))
        if len(self.buffer) >= BATCH_SIZE:
            self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        raw = self.conn.connection.driver_connection
        names = ", ".join(("ord", "sheet", "rownum", *self.columns))
        if self.pg:
            with raw.cursor() as cur, cur.copy(f"COPY {self.name} ({names}) FROM STDIN") as copy:
                for values in self.buffer:
                    copy.write_row(values)
        else:
            marks = ", ".join("?" * (3 + len(self.columns)))
            raw.cursor().executemany(f"INSERT INTO {self.name} ({names}) VALUES ({marks})", self.buffer)
        self.staged += len(self.buffer)
        self.buffer = []

    def _sheet(self, index: int) -> str:
        return self.sheet_names[index]

    def merge(self) -> None:
        self.flush()
        if not self.staged:
            return
        sql = self.conn.exec_driver_sql
        if self.pg:
            sql("SET LOCAL work_mem = '256MB'")
            # the staging table's plan needs its size and rough distinct counts, not fine histograms
            sql("SET LOCAL default_statistics_target = 10")
            sql(f"ANALYZE {self.name}")
            sql("SET LOCAL default_statistics_target TO DEFAULT")
        if self._first_load():
            return
        # 1. a key repeated in the release: the first valid row wins, the others are rejected
        key = self.dup_key or self.kind.key_field
        shown = self.kind.key_field
        # First the repeated keys alone (one sort, byte order: equality is all it needs), then —
        # only if there are any — their rows; a release rarely repeats a key.
        if self.pg:  # a sort groups a million keys faster than a hash table that big
            sql("SET LOCAL enable_hashagg = off")
        collate = ' COLLATE "C"' if self.pg else ""
        self._create(self.dup + "_keys", f"SELECT {key}{collate} AS k, min(ord) AS first FROM {self.name} "
                                         f"GROUP BY 1 HAVING count(*) > 1")
        if self.pg:
            sql("SET LOCAL enable_hashagg TO DEFAULT")
        self._create(self.dup, f"SELECT s.ord, s.sheet, s.rownum, s.{shown} AS k, f.sheet AS first_sheet, "
                     f"f.rownum AS first_row FROM {self.dup}_keys d JOIN {self.name} s ON s.{key} = d.k "
                     f"AND s.ord > d.first JOIN {self.name} f ON f.ord = d.first"
                     + ("" if sql(f"SELECT EXISTS (SELECT 1 FROM {self.dup}_keys)").scalar() else " WHERE false"))
        header = self.kind.field(shown).header
        dups = self._rejected(f"SELECT sheet, rownum, k, first_sheet, first_row FROM {self.dup}",
                              lambda r: (f"{header}“{r[2]}”与第{r[4]}行重复" if r[0] == r[3] else
                                         f"{header}“{r[2]}”与工作表“{self._sheet(r[3])}”第{r[4]}行重复"))
        not_dup = f"NOT EXISTS (SELECT 1 FROM {self.dup} x WHERE x.ord = s.ord)" if dups else "1 = 1"
        self._merge_rows(not_dup, dups)
        if not self.pg:
            for name in (self.name, self.dup, self.dup + "_keys", self.orphan):
                sql(f"DROP TABLE IF EXISTS {name}")

    def _merge_rows(self, not_dup: str, dups: int) -> None:
        kind, key = self.kind, self.kind.key_field
        sql = self.conn.exec_driver_sql
        # 2. the parent (certificate of a single item, single item of a spec/model) must exist
        parent = PARENTS.get(kind.key)
        orphans = 0
        if parent:
            self._create(self.orphan, f"SELECT s.ord, s.sheet, s.rownum, s.{key} AS k, {parent.expr} AS pk FROM {self.name} s "
                      f"WHERE {not_dup} AND NOT EXISTS (SELECT 1 FROM {parent.table} p "
                      f"WHERE p.{parent.key} = {parent.expr})")
            orphans = self._rejected(f"SELECT sheet, rownum, k, pk FROM {self.orphan}",
                                     lambda r: _orphan_reason(kind, r[3]))
        # 3. changed rows updated, then new keys inserted; identical rows are not written at all
        targets = self._targets()[0]
        table = kind.table.name
        differs = "IS DISTINCT FROM" if self.pg else "IS NOT"
        source = self._source(not_dup)
        compared = COMPARED[kind.key]
        params = self._params()
        rebuild = self._bulk_start(table) if self.pg and self.staged >= BULK_MIN_ROWS else None
        if parent and parent.stage_column is None:
            # a spec/model's single item is its code's first 20 characters: a known code keeps its item,
            # so the changed rows are found without joining the single items
            compared = tuple(c for c in compared if c != parent.fk)
            changes = f"(SELECT {', '.join(f's.{c}' for c in targets if c != parent.fk)} FROM {self.name} s " \
                      f"WHERE {not_dup}) AS src"
        else:
            changes = source
        updated = 0 if rebuild is not None else self.conn.execute(text(
            f"UPDATE {table} SET {', '.join(f'{c} = src.{c}' for c in compared)}, updated_at = :now, "
            f"release_id = :release FROM {changes} WHERE {table}.{key} = src.{key} "
            f"AND ({' OR '.join(f'{table}.{c} {differs} src.{c}' for c in compared)})").bindparams(*params)).rowcount
        new_keys = "" if rebuild is not None else (  # an empty table (and no repeated keys): all rows are new
            f"WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE t.{key} = src.{key})")
        inserted = self._insert(not_dup, new_keys)
        for statement in rebuild or ():
            sql(statement)
        # No ANALYZE of the loaded table: the next kind's set-based joins only need its size, which
        # the planner reads from the table itself (and a rebuilt index records in pg_class).
        self.counts.inserted += inserted
        self.counts.updated += updated
        self.counts.unchanged += self.staged - dups - orphans - inserted - updated

    def _targets(self) -> tuple[list[str], list[str], str]:
        """(the target columns, their SELECT over the stage row ``s`` and its parent ``p``, the parent join)."""
        parent = PARENTS.get(self.kind.key)
        targets = [c for c in self.columns if not parent or c != parent.stage_column]
        selects = [f"s.{c}" for c in targets]
        join = ""
        if parent:
            targets.append(parent.fk)
            selects.append(f"p.id AS {parent.fk}")
            join = f"JOIN {parent.table} p ON p.{parent.key} = {parent.expr}"
        return targets, selects, join

    def _source(self, not_dup: str, ids: bool = False) -> str:
        """The staged rows to write, with their parent's id (rows without a parent drop out of the join);
        ``ids``: with the row's own id, ``:id_base`` + its staging number."""
        _, selects, join = self._targets()
        if ids:
            selects = [*selects, ":id_base + s.ord AS id"]
        return f"(SELECT {', '.join(selects)} FROM {self.name} s {join} WHERE {not_dup}) AS src"

    def _insert(self, not_dup: str, new_keys: str = "", id_base: int | None = None) -> int:
        """INSERT the staged rows; ``id_base``: ids reserved from the table's sequence (see :meth:`_reserve_ids`)."""
        targets, params = self._targets()[0], self._params()
        if id_base is not None:
            targets, params = [*targets, "id"], [*params, bindparam("id_base", value=id_base, type_=Integer())]
        return self.conn.execute(text(
            f"INSERT INTO {self.kind.table.name} ({', '.join(targets)}, created_at, updated_at, release_id, status) "
            f"SELECT {', '.join(f'src.{c}' for c in targets)}, :now, :now, :release, 'active' "
            f"FROM {self._source(not_dup, ids=id_base is not None)} {new_keys}").bindparams(*params)).rowcount

    def _reserve_ids(self) -> int | None:
        """Take ``self.ord`` ids from the table's sequence at once; the staged row numbered ``ord``
        gets base + ``ord``.  A million ``nextval()`` calls cost more than the INSERT's own work;
        the gaps left by rejected rows are harmless.  Only for a first load, whose table is locked
        (ACCESS EXCLUSIVE) since :meth:`_bulk_start`: nobody else inserts meanwhile."""
        sql = self.conn.exec_driver_sql
        seq = sql("SELECT pg_get_serial_sequence(%(t)s, 'id')", {"t": self.kind.table.name}).scalar()
        if seq is None:
            return None
        last = sql("SELECT setval(%(s)s, nextval(%(s)s) + %(n)s)", {"s": seq, "n": self.ord}).scalar_one()
        return int(last) - self.ord - 1

    #: whether a first load may take :meth:`_first_load` (the 停用 / 转码 stages change loaded rows)
    first_load = True

    def _first_load(self) -> bool:
        """The first load of an empty table (PostgreSQL, ``BULK_MIN_ROWS`` rows or more), done optimistically.

        A release rarely repeats a key or names a missing parent, so the rows go in at once, the
        indexes and keys are rebuilt, and the rebuilt unique constraint proves no key was repeated
        while the INSERT's join to the parents proves every row found its own: the repeated-key
        sort and the parent anti-join are skipped.  If either proof fails, everything done here is
        rolled back and the full path runs, which names each rejected row.  True when loaded.
        """
        if not (self.pg and self.first_load and self.staged >= BULK_MIN_ROWS):
            return False
        import psycopg

        raw = self.conn.connection.driver_connection.cursor()
        raw.execute("SAVEPOINT national_first_load")
        rebuild = self._bulk_start(self.kind.table.name)
        try:
            if rebuild is None or self._insert("1 = 1", id_base=self._reserve_ids()) != self.staged:
                # not empty, or a parent missing
                raise _NotForFirstLoad()
            for statement in rebuild:  # the unique constraints first: a repeated key fails here
                raw.execute(statement)
        except (_NotForFirstLoad, psycopg.errors.UniqueViolation, IntegrityError) as exc:
            if isinstance(exc, IntegrityError) and not isinstance(exc.orig, psycopg.errors.UniqueViolation):
                raise
            raw.execute("ROLLBACK TO SAVEPOINT national_first_load")
            raw.execute("RELEASE SAVEPOINT national_first_load")
            return False
        raw.execute("RELEASE SAVEPOINT national_first_load")
        self.counts.inserted += self.staged
        return True

    def _bulk_start(self, table: str) -> list[str] | None:
        """First load of an empty table: drop its secondary indexes, its foreign keys and — unless
        another table's foreign key needs them — its unique and primary keys for the load.

        Rows then go in without per-row index maintenance and foreign-key triggers; the returned
        statements rebuild each index in one sort and re-add each constraint, whose check is one
        set-based pass (the constraint is validated, not trusted).  The table is locked
        (ACCESS EXCLUSIVE) until the import commits — it is empty, nobody can have picked from
        it yet.  None (and nothing dropped) when the table holds rows or may not be altered.
        """
        sql = self.conn.exec_driver_sql
        if sql(f"SELECT EXISTS (SELECT 1 FROM {table})").scalar():
            return None
        oid = sql("SELECT %(t)s::regclass::oid", {"t": table}).scalar_one()
        constraints = sql(
            "SELECT c.conname, c.contype, pg_get_constraintdef(c.oid) FROM pg_constraint c "
            "WHERE c.conrelid = %(oid)s AND (c.contype = 'f' OR (c.contype IN ('u', 'p') AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint r WHERE r.contype = 'f' AND r.conindid = c.conindid)))",
            {"oid": oid}).all()
        indexes = sql(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "WHERE x.indrelid = %(oid)s AND NOT x.indisprimary AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)", {"oid": oid}).all()
        import psycopg

        raw = self.conn.connection.driver_connection.cursor()
        raw.execute("SAVEPOINT national_bulk")
        try:
            for name, _, _ in constraints:
                raw.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            for name, _ in indexes:
                raw.execute(f'DROP INDEX "{name}"')
        except psycopg.Error:  # not the table's owner, say: load row by row as usual
            raw.execute("ROLLBACK TO SAVEPOINT national_bulk")
            raw.execute("RELEASE SAVEPOINT national_bulk")
            return None
        raw.execute("RELEASE SAVEPOINT national_bulk")
        sql("SET LOCAL maintenance_work_mem = '256MB'")
        # the unique keys first (a repeated key fails there), then the primary key (ids are unique by construction)
        unique = [f'ALTER TABLE {table} ADD CONSTRAINT "{n}" {d}' for t_ in ("u", "p") for n, t, d in constraints
                  if t == t_]
        foreign = [f'ALTER TABLE {table} ADD CONSTRAINT "{n}" {d}' for n, t, d in constraints if t == "f"]
        return unique + [d for _, d in indexes] + foreign

    def _params(self) -> list:
        return [bindparam("now", value=self.now, type_=DateTime()),
                bindparam("release", value=self.release.id if self.release else None, type_=Integer())]

    def _rejected(self, query: str, reason: Callable[[tuple], str]) -> int:
        """Count the rejected rows of one rule; report the first ones (sheet, row, key, reason)."""
        table = query.rsplit(" FROM ", 1)[1]
        total = self.conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one()
        if total:
            room = max(results.REPORT_LIMIT - len(self.result.errors), 0)
            if room:
                found = [((r[0], r[1]), RejectedRow(self._sheet(r[0]), r[1], r[2], reason(tuple(r)), self.kind.key))
                         for r in self.conn.exec_driver_sql(f"{query} ORDER BY ord LIMIT {int(room)}")]
                self._fill_values(found)
                self.result.errors.extend(e for _, e in found)
            self.counts.rejected += total
        return total

    def _fill_values(self, found: list[tuple[tuple[int, int], RejectedRow]]) -> None:
        """The staged values of rows a set-based rule rejected, for the report (at most its limit);
        ``found`` pairs each error with its (sheet index, row number)."""
        if not found:
            return
        wanted = {where for where, _ in found}
        rows = sorted({row for _, row in wanted})
        staged = {}
        for start in range(0, len(rows), 500):
            chunk = ", ".join(str(int(n)) for n in rows[start:start + 500])
            for r in self.conn.exec_driver_sql(f"SELECT sheet, rownum, {', '.join(self.columns)} FROM {self.name} "
                                               f"WHERE rownum IN ({chunk})"):
                if (r[0], r[1]) in wanted:
                    staged[(r[0], r[1])] = dict(zip(self.columns, r[2:]))
        for where, e in found:
            e.values = row_cells(self.kind, staged.get(where, {}))


    # -- PostgreSQL: a .csv sheet straight into the database, checked there ---------------
    def copy_csv(self, sheet_index: int, plan: "PlannedSheet",
                 progress: Callable[[int], None] | None = None) -> int | None:
        """Load one .csv sheet of a kind in :data:`checks.SQL_CHECKS` with COPY and check its rows in SQL.

        The file's bytes go to the server unparsed (COPY … FORMAT csv into a raw table of
        text columns, the record number kept); one INSERT … SELECT then applies the same
        rules, in the same order and with the same messages, as the kind's Python check and
        stages every row; the rejected ones are reported and dropped.  Returns the number of
        data rows, or None when the file does not suit COPY (ragged rows, COPY's end-of-data
        line, bytes PostgreSQL refuses): nothing of it is kept and the caller reads it in Python.
        """
        import psycopg

        stream, encoding, delimiter = plan.sheet.csv_source
        width = max(plan.columns) + 1
        raw = "national_raw"
        cur = self.conn.connection.driver_connection.cursor()
        cur.execute("SAVEPOINT national_copy")
        try:
            ncols = csv_width(stream, encoding, delimiter)
            if ncols < width:
                raise _NotForCopy()
            cur.execute(f"DROP TABLE IF EXISTS {raw}")
            cur.execute(f"CREATE TEMPORARY TABLE {raw} (ord bigint GENERATED ALWAYS AS IDENTITY, "
                        f"{', '.join(f'c{i} text' for i in range(ncols))}) ON COMMIT DROP")
            if not _copy_raw(cur, raw, ncols, stream, encoding, delimiter, progress):
                raise _NotForCopy()
        except (_NotForCopy, psycopg.Error):
            cur.execute("ROLLBACK TO SAVEPOINT national_copy")
            cur.execute("RELEASE SAVEPOINT national_copy")
            return None
        records = cur.rowcount  # the records COPY read (header included)
        cur.execute("RELEASE SAVEPOINT national_copy")
        mapped = {name: f"c{idx}" for idx, name in plan.columns.items()}
        if not self.rejects_indexed:  # the rejected rows are found again through a partial index
            self.conn.exec_driver_sql(f"CREATE INDEX ON {self.name} (ord) WHERE reason IS NOT NULL")
            self.rejects_indexed = True
        params = {"offset": self.ord, "sheet": sheet_index, "header": plan.header_row, "ws": WS}
        rows = self.conn.execute(text(
            f"INSERT INTO {self.name} (ord, sheet, rownum, {', '.join(self.columns)}, reason) "
            + checks.checked_sql(self.kind.key, mapped, raw, lead=":offset + ord, :sheet, ord")
        ).bindparams(**params)).rowcount
        # counted in this file's rows only: no scan of a staging table that grows file by file
        rejected = self.conn.execute(text(f"SELECT count(*) FROM {self.name} WHERE reason IS NOT NULL "
                                          f"AND ord > :offset").bindparams(offset=self.ord)).scalar_one()
        if rejected:  # the report shows the rejected rows' cells as the file had them (the raw text)
            room = max(results.REPORT_LIMIT - len(self.result.errors), 0)
            if room:
                cells = [f"a.{mapped[f.name]}" if f.name in mapped else "NULL" for f in self.kind.fields]
                for r in self.conn.execute(text(
                        f"SELECT s.sheet, s.rownum, s.{self.kind.key_field}, s.reason, {', '.join(cells)} "
                        f"FROM {self.name} s JOIN {raw} a ON a.ord = s.ord - :offset "
                        f"WHERE s.reason IS NOT NULL ORDER BY s.ord LIMIT {int(room)}").bindparams(offset=self.ord)):
                    self.result.errors.append(RejectedRow(self._sheet(r[0]), r[1], r[2], r[3], self.kind.key,
                                                       [cell_text(v) for v in r[4:]]))
            self.counts.rejected += rejected
        self.conn.exec_driver_sql(f"DROP TABLE {raw}")
        self.ord += records
        if rejected:
            self.conn.exec_driver_sql(f"DELETE FROM {self.name} WHERE reason IS NOT NULL")
        self.staged += rows - rejected
        return rows


class _NotForCopy(Exception):
    pass


class _NotForFirstLoad(Exception):
    pass


_END_MARKERS = (b"\n\\.\n", b"\n\\.\r", b"\r\\.\r", b"\r\\.\n")


def _copy_raw(cur, table: str, ncols: int, stream: IO[bytes], encoding: str, delimiter: str,
              progress: Callable[[int], None] | None = None) -> bool:
    """Stream the file into ``table`` with COPY; False if a line holds only ``\\.`` (COPY's end of data).

    ``progress(lines sent)`` after every chunk (1 MB) for a progress bar."""
    import codecs

    stream.seek(0)
    decoder = None if encoding.startswith("utf-8") else codecs.getincrementaldecoder(encoding)()
    columns = ", ".join(f"c{i}" for i in range(ncols))
    tail = b"\n"
    lines = 0
    with cur.copy(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv, DELIMITER '{delimiter}')") as copy:
        while chunk := stream.read(1 << 20):
            if tail == b"\n" and chunk.startswith(codecs.BOM_UTF8):
                chunk = chunk[len(codecs.BOM_UTF8):]
            window = tail + chunk
            if b"\\." in window and any(m in window for m in _END_MARKERS):
                return False
            tail = window[-3:]
            copy.write(decoder.decode(chunk) if decoder else chunk)
            if progress:
                lines += chunk.count(b"\n")
                progress(lines)
        if any(m in tail + b"\n" for m in _END_MARKERS):
            return False
        if decoder:
            copy.write(decoder.decode(b"", final=True))
    return True


_TARGETS = {"certificate": ("national_certificate", "number"), "item": ("national_item", "code"),
            "spec": ("national_spec", "code")}


class DeactivationStage(Stage):
    """停用表: the listed keys become 已停用 (kept, shown, no longer pickable)."""

    first_load = False

    def _merge_rows(self, not_dup: str, dups: int) -> None:
        known = " OR ".join(f"(s.target = '{target}' AND EXISTS (SELECT 1 FROM {table} t WHERE t.{key} = s.code))"
                            for target, (table, key) in _TARGETS.items())
        self._create(self.orphan, f"SELECT s.ord, s.sheet, s.rownum, s.code AS k FROM {self.name} s "
                                  f"WHERE {not_dup} AND NOT ({known})")
        orphans = self._rejected(f"SELECT sheet, rownum, k FROM {self.orphan}",
                                 lambda r: f"停用编码“{r[2]}”不在国家数据中")
        # updated_at stays: it tells the rows a release added (created_at == updated_at) from those it changed
        params = [self._params()[1], bindparam("day", value=(self.release.published_on if self.release and
                                                             self.release.published_on else self.now.date()),
                                               type_=Date())]
        updated = 0
        for target, (table, key) in _TARGETS.items():
            updated += self.conn.execute(text(
                f"UPDATE {table} SET status = 'deactivated', deactivated_on = COALESCE(src.deactivated_on, :day), "
                f"deactivated_release_id = :release "
                f"FROM (SELECT s.code, s.deactivated_on FROM {self.name} s WHERE s.target = '{target}' "
                f"AND {not_dup}) AS src WHERE {table}.{key} = src.code AND {table}.status <> 'deactivated'"
            ).bindparams(*params)).rowcount
        self.counts.updated += updated
        self.counts.unchanged += self.staged - dups - orphans - updated


class TransferStage(Stage):
    """转码表: old 27-character code → new one; both must be known spec/models."""

    dup_key = "pair"
    first_load = False

    def _merge_rows(self, not_dup: str, dups: int) -> None:
        self._create(self.orphan, f"SELECT s.ord, s.sheet, s.rownum, s.old_code AS k, s.new_code AS n, "
                                  f"EXISTS (SELECT 1 FROM national_spec t WHERE t.code = s.old_code) AS old_known "
                                  f"FROM {self.name} s WHERE {not_dup} AND NOT (EXISTS (SELECT 1 FROM national_spec "
                                  f"t WHERE t.code = s.old_code) AND EXISTS (SELECT 1 FROM national_spec t "
                                  f"WHERE t.code = s.new_code))")
        orphans = self._rejected(
            f"SELECT sheet, rownum, k, n, old_known FROM {self.orphan}",
            lambda r: (f"27位码“{r[3]}”不在规格型号数据中，请先导入" if r[4] else
                       f"原27位码“{r[2]}”不在规格型号数据中"))
        source = (f"(SELECT s.old_code, s.new_code, s.kind FROM {self.name} s WHERE {not_dup} AND NOT EXISTS "
                  f"(SELECT 1 FROM {self.orphan} o WHERE o.ord = s.ord)) AS src")
        params = self._params()
        differs = "IS DISTINCT FROM" if self.pg else "IS NOT"
        updated = self.conn.execute(text(
            f"UPDATE national_transfer SET kind = src.kind, release_id = :release FROM {source} "
            f"WHERE national_transfer.old_code = src.old_code AND national_transfer.new_code = src.new_code "
            f"AND national_transfer.kind {differs} src.kind").bindparams(params[1])).rowcount
        inserted = self.conn.execute(text(
            f"INSERT INTO national_transfer (old_code, new_code, kind, release_id, created_at) "
            f"SELECT src.old_code, src.new_code, src.kind, :release, :now FROM {source} WHERE NOT EXISTS "
            f"(SELECT 1 FROM national_transfer t WHERE t.old_code = src.old_code AND t.new_code = src.new_code)"
        ).bindparams(*params)).rowcount
        self.counts.inserted += inserted
        self.counts.updated += updated
        self.counts.unchanged += self.staged - dups - orphans - inserted - updated


STAGES = {"deactivation": DeactivationStage, "transfer": TransferStage}
