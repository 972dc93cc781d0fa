"""Reading the ledger and committing to it: one transaction per batch, all of it or nothing.

A settlement job may die at any moment (a killed process, a full disk); the ledger must then be
exactly as before the job. So a batch — its payments, reversals, accumulators and record — is
written in a single transaction, and the database's own atomicity is the guarantee. Opening a
ledger brings its schema to the latest Alembic revision first (a new SQLite file is created
there), so a ledger written by an older yibao is migrated, never misread.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, TypeVar
from urllib.parse import unquote

import numpy as np
import pandas as pd
from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import (Column, Connection, Engine, MetaData, String, Table, and_, bindparam, create_engine, exists,
                        func, inspect, or_, select, text)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, SAWarning

from yibao import __version__
from yibao.calculator.scan import COUNTERS, MONTH_COLUMNS, MONTH_KEYS, parse_chronic
from yibao.errors import InputError, expect, first_line, quoted
from yibao.ledger import periods, schema
from yibao.ledger.periods import Mark, PeriodRead, last_payments, reversal_lines
from yibao.ledger.schema import ACC, CASH, MONEY, PAYMENT, REVERSAL, SUPERSEDED
from yibao.money import fen_to_yuan, yuan_array_to_fen
from yibao.tables import LIST_SEP

MIGRATIONS = Path(__file__).parent / "migrations"
PAUSE_ENV = "YIBAO_TEST_PAUSE_COMMIT"  # tests only: seconds to wait inside the commit (crash test)
WRITER_LOCK = 0x79696261  # "yiba": the PostgreSQL advisory lock a ledger's one writer holds
SQLITE_WAIT_SECONDS = 600  # how long a job waits for another's commit to a SQLite ledger
CHUNK = 500  # keys per IN (...) query: well under every database's limit on bound parameters
WANTED = Table("yibao_wanted_persons", MetaData(), Column("psn_no", String(64), primary_key=True),
               prefixes=["TEMPORARY"])
"""The persons whose entries a query wants, joined to `entries` (which has no index by person): one
pass over the table, where an IN list of `CHUNK` persons at a time would read it once per chunk."""


def ledger_url(text: str | Path) -> str:
    """`--ledger` value → SQLAlchemy URL: a URL as given (plain `postgresql://` with the psycopg
    driver this package installs), anything else a SQLite file path, quoted into the URL: pasted
    as it was, `ledger?2025.db` named the file `ledger` (the rest a query) and `ledger%41.db` the
    file `ledgerA.db`."""
    expect(text, (str, Path), "a ledger is a SQLite file path or a SQLAlchemy URL")
    text = str(text)
    if "://" in text:
        scheme, _, rest = text.partition("://")
        return f"postgresql+psycopg://{rest}" if scheme in ("postgresql", "postgres") else text
    return URL.create("sqlite", database=str(Path(text).expanduser().resolve())).render_as_string(hide_password=False)


def _chunks(values: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start:start + CHUNK]


def _frame(rows: Iterable[Any], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame([tuple(r) for r in rows], columns=columns)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts of plain Python values (database drivers take no numpy scalars)."""
    return [{k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
            for row in frame.to_dict("records")]


def empty_accumulators() -> pd.DataFrame:
    return pd.DataFrame({"psn_no": pd.Series(dtype=object), "year": pd.Series(dtype=np.int64)}
                        | {c: pd.Series(dtype=np.int64) for c in ACC} | {"chronic_paid": pd.Series(dtype=object)})


def accumulators_to_fen(table: pd.DataFrame) -> pd.DataFrame:
    """An accumulators table as scoring writes it (yuan) → the ledger's form (fen)."""
    if table.empty:
        return empty_accumulators()
    out = pd.DataFrame({"psn_no": table["psn_no"].astype(str).to_numpy(dtype=object),
                        "year": table["year"].to_numpy(dtype=np.int64)})
    for c in ACC:
        values = np.nan_to_num(table[c].to_numpy(dtype=np.float64)) if c in table else np.zeros(len(table))
        out[c] = np.rint(values).astype(np.int64) if c in COUNTERS else yuan_array_to_fen(values)
    out["chronic_paid"] = table["chronic_paid"].fillna("").astype(str).to_numpy(dtype=object)
    return out


def accumulators_to_yuan(table: pd.DataFrame) -> pd.DataFrame:
    """The ledger's accumulators (fen) → the table scoring reads (yuan, counters as counts)."""
    out = table.copy()
    for c in ACC:
        if c not in COUNTERS:
            out[c] = out[c].to_numpy(dtype=np.int64) / 100
    return out


def _chronic_minus(held: str, taken: str) -> str:
    """`DISEASE=yuan;…` of a person-year less a claim's own."""
    left = parse_chronic(held)
    for code, fen in parse_chronic(taken).items():
        left[code] = left.get(code, 0) - fen
    return LIST_SEP.join(f"{code}={fen_to_yuan(fen)}" for code, fen in left.items() if fen)


def less_payments(acc: pd.DataFrame, payments: pd.DataFrame) -> pd.DataFrame:
    """Person-year accumulators (fen) with the given payment entries taken back out: what a
    reversal does. A month's amount is taken back only while it still counts that month."""
    if payments.empty:
        return acc
    out = acc.set_index(["psn_no", "year"]).copy()
    for row in payments.itertuples(index=False):
        key = (row.psn_no, row.year)
        if key not in out.index:
            continue  # no accumulators held: nothing to take back
        for c in ACC:
            if c in MONTH_KEYS.values():
                continue
            month = MONTH_KEYS.get(c)
            if month and out.at[key, month] != getattr(row, "add_" + month):
                continue
            out.at[key, c] = out.at[key, c] - getattr(row, "add_" + c)
        out.at[key, "chronic_paid"] = _chronic_minus(out.at[key, "chronic_paid"], row.add_chronic_paid)
    return out.reset_index()


def month_amounts(entries: pd.DataFrame) -> pd.DataFrame:
    """The amounts entries counted in a month (a monthly cap's), a row per entry and amount
    (`scan.MONTH_COLUMNS`)."""
    parts = [pd.DataFrame({"psn_no": entries["psn_no"].to_numpy(dtype=object),
                           "year": entries["year"].to_numpy(dtype=np.int64),
                           "month": entries["add_" + key].to_numpy(dtype=np.int64), "column": amount,
                           "fen": entries["add_" + amount].to_numpy(dtype=np.int64)})
             for amount, key in MONTH_KEYS.items()]
    out = pd.concat(parts, ignore_index=True)
    return out[out["month"] >= 0].reset_index(drop=True)[list(MONTH_COLUMNS)]


def reversal_batch(mdtrt_id: str, entry_id: int) -> str:
    """The id of the batch `yibao ledger reverse` commits to reverse payment `entry_id` of claim
    `mdtrt_id`: the same reversal asked for again is the same batch, and the id tells the batch from
    a scored one (`Ledger.month_batches`)."""
    return hashlib.sha256(f"reverse:{mdtrt_id}:{entry_id}".encode()).hexdigest()


def reversal_entries(payments: pd.DataFrame, batch_id: str, period: str) -> pd.DataFrame:
    """The negative entries (冲正) cancelling payment entries, in the period they are made. That
    period is not before the payment's: a charge-back in a month settled before the payment was
    made would be on no statement, and the institution would keep the money."""
    early = payments["period"].astype(str).to_numpy(dtype=object) > period
    if early.any():
        claim, paid = payments[["mdtrt_id", "period"]].iloc[int(early.argmax())]
        raise InputError(f"claim {claim} was paid in period {paid}: its reversal cannot be made in the earlier "
                         f"period {period}; give --period {paid} or later. Nothing was committed")
    out = payments.drop(columns=["entry_id"]).assign(batch_id=batch_id, period=period, entry=REVERSAL,
                                                       reverses=payments["entry_id"].to_numpy())
    for c in MONEY + tuple("add_" + a for a in ACC if a not in MONTH_KEYS.values()):
        out[c] = -out[c].to_numpy(dtype=np.int64)
    out["add_chronic_paid"] = ["" if not t else LIST_SEP.join(f"{k}={fen_to_yuan(-v)}" for k, v in parse_chronic(t).items())
                               for t in out["add_chronic_paid"]]
    return out


@dataclass(frozen=True)
class Commit:
    """Everything one batch writes, in fen: applied in one transaction by `Ledger.commit`."""

    batch_id: str
    period: str
    tariff: str
    payments: pd.DataFrame  # entries columns without entry_id, batch_id, period, entry
    reversed: pd.DataFrame  # the payment entries (all columns) this batch reverses
    duplicates: pd.DataFrame  # mdtrt_id, paid_batch, paid_period
    inputs: pd.DataFrame  # the accumulators the scoring started from
    after: pd.DataFrame  # the accumulators after the batch, per person-year it touched
    persons: tuple[str, ...] = ()  # the persons whose accumulators the scoring read …
    held: pd.DataFrame | None = None  # … and what it read (None: nothing to check)
    corrections: pd.DataFrame | None = None  # its claims correcting another: mdtrt_id, correction_of


def _first_line(exc: BaseException) -> str:
    """A database error's own first line: SQLAlchemy's text adds the statement and its
    parameters (persons' numbers), which no message may show."""
    return first_line(getattr(exc, "orig", None) or exc)


def ledger_file(text: str | Path) -> Path | None:
    """The file of a SQLite ledger; None for a database server, one in memory or a URL that
    cannot be read (opening it says so). A command's --out must not hold it: the folder is
    replaced whole, and with it went the ledger the command had just committed to."""
    try:
        url = make_url(ledger_url(text))
    except (ArgumentError, ValueError):
        return None
    database = _sqlite_database(url) if url.drivername.startswith("sqlite") else ""
    return Path(database) if database not in ("", ":memory:") else None


def _sqlite_database(url: URL) -> str:
    database = url.database or ""
    if url.query.get("uri") == "true":  # SQLite's own URI (file:PATH?mode=ro), for a read-only ledger
        database = unquote(database.removeprefix("file:"))
    return database


def _check_sqlite_file(url: URL, create: bool) -> None:
    """A SQLite ledger is a file: one in memory keeps nothing; reading needs one that exists
    and is not empty (an empty file would silently become an empty ledger)."""
    database = _sqlite_database(url)
    if database in ("", ":memory:") or url.query.get("mode") == "memory":
        raise InputError("a SQLite ledger in memory keeps nothing once the command ends: give a file path "
                         "or a database URL")
    # looked up even where it is to be made: a name too long to look up raises here (ENAMETOOLONG)
    # as every path a command takes does, where SQLite said "unable to open database file" beside
    # the whole URL, 5,000 characters of it
    found = Path(database).is_file()
    if not create and (not found or Path(database).stat().st_size == 0):
        raise InputError(f"no ledger at {database} (yibao score --ledger creates one)")


class ConflictError(InputError):
    """Another job changed what this batch was scored from: nothing is committed; run again."""


class Ledger:
    """One ledger database: SQLite file or any SQLAlchemy URL (PostgreSQL where a team shares one)."""

    def __init__(self, url: str | Path, create: bool = False) -> None:
        """`create`: a SQLite file that does not exist yet is made (scoring); reading a ledger
        (status, settle, reverse) from a mistyped path says so instead of showing an empty one.
        A SQLite ledger in memory is refused: it would be gone, and with it what was paid, when
        the command ends."""
        self.url = ledger_url(url)
        try:
            parsed = make_url(self.url)
        except (ArgumentError, ValueError):  # ValueError: a port that is no number
            raise InputError("cannot open the ledger (unreadable URL): not a database URL or file path") from None
        try:
            if parsed.drivername.startswith("sqlite"):
                _check_sqlite_file(parsed, create)
            waits = {"connect_args": {"timeout": SQLITE_WAIT_SECONDS}} if parsed.drivername.startswith("sqlite") else {}
            with warnings.catch_warnings():
                warnings.simplefilter("error", SAWarning)
                self.engine: Engine = create_engine(self.url, **waits)
            self._upgrade(create)
        except (ArgumentError, DBAPIError, ModuleNotFoundError) as exc:  # DBAPIError: not a database, unreachable
            raise InputError(f"cannot open the ledger {self.shown}: {_first_line(exc)}") from None
        except SAWarning as exc:  # an option of the URL the driver ignores: `?mode=ro` without `uri=true` was
            # opened for writing, and a batch committed to the ledger meant to be read only
            raise InputError(f"cannot open the ledger {self.shown}: "
                             f"{_first_line(exc).split(' (Background on this warning')[0]}") from None
        except CommandError:  # a revision this version's migrations do not have
            raise InputError(f"cannot open the ledger {self.shown}: {self._unknown_revision()}") from None

    def _unknown_revision(self) -> str:
        """Why a database at a revision this version's migrations do not have is not opened: a
        ledger of a newer yibao holds the ledger's tables; another application migrating its own
        with Alembic has an `alembic_version` too, and is no ledger (nor to be made one)."""
        with self._connected() as conn:
            if inspect(conn).has_table(schema.batches.name):
                return f"its schema is of a newer yibao than {__version__} (use that version)"
            revision = MigrationContext.configure(conn).get_current_revision()
        return (f"it holds another application's tables (Alembic revision {quoted(str(revision))}, none of yibao's), not a "
                f"ledger: give the ledger's file or URL")

    def _upgrade(self, create: bool) -> None:
        """The schema brought to this version's head: by one job at a time, whole or not at all,
        and only when it is behind, so that reading a ledger (status, settle) never waits for
        another job's commit. A database without a ledger's schema is made one only by `create`:
        reading another application's database (a mistyped path, a URL naming the wrong database)
        wrote the ledger's tables into it and showed an empty ledger."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
        if current == ScriptDirectory.from_config(config).get_current_head():
            return
        if current is None and not create:
            raise InputError(f"no ledger at {self.shown} (yibao score --ledger creates one)")
        with _one_writer(self.engine) as conn:  # the revision read again under the lock, by Alembic
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    @property
    def shown(self) -> str:
        """The URL without its password, for messages."""
        try:
            return make_url(self.url).render_as_string(hide_password=True)
        except ArgumentError:
            return "(unreadable URL)"

    @contextmanager
    def _connected(self, write: bool = False) -> Iterator[Connection]:
        """A connection for reading (or one transaction): a database that fails under it (a
        table dropped, a page corrupted, the server gone) is one line, not a traceback."""
        try:
            with self.engine.begin() if write else self.engine.connect() as conn:
                yield conn
        except DBAPIError as exc:
            raise InputError(f"cannot read the ledger {self.shown}: {_first_line(exc)}") from None

    def close(self) -> None:
        self.engine.dispose()

    # --- reading ---------------------------------------------------------------------------

    def batch(self, batch_id: str) -> dict[str, Any] | None:
        with self._connected() as conn:
            row = conn.execute(select(schema.batches).where(schema.batches.c.batch_id == batch_id)).first()
        return None if row is None else dict(row._mapping)

    def paid(self, ids: Iterable[str]) -> pd.DataFrame:
        """The claims among `ids` paid and not reversed: mdtrt_id, entry_id, batch_id, period."""
        t = schema.paid_claims
        with self._connected() as conn:
            rows = [r for chunk in _chunks(sorted(set(ids)))
                    for r in conn.execute(select(t).where(t.c.mdtrt_id.in_(chunk)))]
        return _frame(rows, [c.name for c in t.columns])

    def entries(self, entry_ids: Iterable[int]) -> pd.DataFrame:
        t = schema.entries
        with self._connected() as conn:
            rows = [r for chunk in _chunks(sorted(set(int(i) for i in entry_ids)))
                    for r in conn.execute(select(t).where(t.c.entry_id.in_(chunk)))]
        return _frame(rows, [c.name for c in t.columns])

    def accumulators(self, persons: Iterable[str]) -> pd.DataFrame:
        """Every year's accumulators (fen) of these persons."""
        with self._connected() as conn:
            return _accumulators(conn, persons)

    def superseding(self, ids: Iterable[str]) -> pd.DataFrame:
        """The claims among `ids` that a correction booked before replaces (`corrections`), as the
        batch's duplicates are kept (`schema.batch_duplicates`, code SUPERSEDED): mdtrt_id, the
        batch and period of the last batch that corrected it and that batch's claims correcting it."""
        c, b = schema.corrections, schema.batches
        query = select(c.c.correction_of, c.c.mdtrt_id, c.c.batch_id, b.c.period, b.c.seq) \
            .join(b, b.c.batch_id == c.c.batch_id)
        with self._connected() as conn:
            found = _frame(_rows_of(conn, query, c.c.correction_of, ids),
                           ["target", "by", "paid_batch", "paid_period", "seq"])
        last = found[found["seq"] == found.groupby("target")["seq"].transform("max")].sort_values(["target", "by"])
        return refused_naming(last, "target", "by", SUPERSEDED)

    def standing(self, targets: Iterable[str]) -> pd.DataFrame:
        """For each of `targets`, the claims paid now that replace it through the corrections
        booked before — its corrections, theirs, and so on: target, mdtrt_id, and the batch and
        period of the payment (paid_batch, paid_period)."""
        with self._connected() as conn:
            return _standing(conn, targets)

    def batch_inputs(self, batch_id: str, persons: Iterable[str] | None = None,
                     claims: Iterable[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
        """What a committed batch's scoring started from: accumulators (fen) and duplicates;
        only those of `persons` and `claims` when given (a partition of the batch)."""
        a, d = schema.batch_accumulators, schema.batch_duplicates
        with self._connected() as conn:
            acc = _frame(_rows_of(conn, select(a).where(a.c.batch_id == batch_id), a.c.psn_no, persons),
                         [c.name for c in a.columns])
            dups = _frame(_rows_of(conn, select(d).where(d.c.batch_id == batch_id), d.c.mdtrt_id, claims),
                          [c.name for c in d.columns])
        acc = acc.drop(columns="batch_id").sort_values(["psn_no", "year"]).reset_index(drop=True) \
            if len(acc) else empty_accumulators()
        return acc, dups.drop(columns="batch_id")

    def paid_to(self, persons: Iterable[str], batch_id: str | None = None) -> pd.DataFrame:
        """The claims (kind claim) paid to these persons and not reversed: entry_id, mdtrt_id,
        psn_no, institution_id, admit_date, discharge_date, batch_id, period. With `batch_id`, as
        the committed batch found them: paid by batches before it and not reversed by one up to
        it (its own corrections included), so scoring it again reads what it read — none, for a
        batch committed before they were read (`batches.earlier_checked`)."""
        known = None if batch_id is None else self.batch(batch_id)
        e = schema.entries
        found = self._of_persons(select(e.c.entry_id, e.c.entry, e.c.reverses, e.c.mdtrt_id, e.c.psn_no,
                                        e.c.institution_id, e.c.admit_date, e.c.discharge_date, e.c.batch_id,
                                        e.c.period).where(e.c.kind == "claim"), persons)
        if known is None:
            last = np.inf  # a batch not committed yet: whatever is paid now
        else:  # a batch committed before revision 0006 read none
            last = known["seq"] if known["earlier_checked"] else -np.inf
        paid = found[(found["entry"] == PAYMENT) & (found["seq"] < last)]
        gone = found.loc[(found["entry"] == REVERSAL) & (found["seq"] <= last), "reverses"]
        paid = paid[~paid["entry_id"].isin(gone)].sort_values("entry_id")
        return paid.drop(columns=["entry", "reverses", "seq"]).reset_index(drop=True)

    def months(self, persons: Iterable[str], batch_id: str | None = None) -> pd.DataFrame | None:
        """What the entries of these persons counted in each month (`scan.MONTH_COLUMNS`, fen):
        with `batch_id`, as the committed batch found them — entries of the batches before it and
        its own reversals — and None for a batch committed before they were read
        (`batches.months_read`), which is scored again without them, as it was then."""
        known = None if batch_id is None else self.batch(batch_id)
        if known is not None and not known["months_read"]:
            return None
        e = schema.entries
        keys = [e.c["add_" + k] for k in MONTH_KEYS.values()]
        query = select(e.c.psn_no, e.c.year, e.c.entry, *keys, *(e.c["add_" + a] for a in MONTH_KEYS)) \
            .where(or_(*(k >= 0 for k in keys)))
        found = self._of_persons(query, persons)
        if known is not None:
            last = known["seq"]
            found = found[(found["seq"] < last) | ((found["seq"] == last) & (found["entry"] == REVERSAL))]
        return month_amounts(found)

    def _of_persons(self, query: Any, persons: Iterable[str]) -> pd.DataFrame:
        """The rows of `query` on `entries` of these persons, each with its batch's `seq`."""
        e, b = schema.entries, schema.batches
        query = query.add_columns(b.c.seq).join(b, b.c.batch_id == e.c.batch_id) \
            .join(WANTED, WANTED.c.psn_no == e.c.psn_no)
        with self._connected(write=True) as conn:
            WANTED.create(conn, checkfirst=True)  # one a failed read left on this connection is emptied
            conn.execute(WANTED.delete())
            _insert(conn, WANTED, pd.DataFrame({"psn_no": sorted(set(persons))}))
            found = _frame(conn.execute(query), [c.name for c in query.selected_columns])
            WANTED.drop(conn)
        return found

    def claim_persons(self, ids: Iterable[str]) -> dict[str, str]:
        """The person each of these claims was last paid to, for those ever paid. A claim paid,
        reversed and filed again for another person has two: in entry order the later stands
        (PostgreSQL returns rows in no order of its own, so a partitioned run could route the
        claim's correction by either, and a replay could differ)."""
        t = schema.entries
        with self._connected() as conn:
            query = select(t.c.mdtrt_id, t.c.psn_no).where(t.c.entry == PAYMENT).order_by(t.c.entry_id)
            rows = _rows_of(conn, query, t.c.mdtrt_id, ids)
            return {m: p for m, p in rows}

    def period_entries(self, period: str) -> pd.DataFrame:
        """Every entry made in a settlement period, payments and reversals."""
        with self._connected() as conn:
            return _period_entries(conn, period)

    def settling(self, period: str) -> PeriodRead:
        """What settling a period reads (`yibao.ledger.periods`): the direct claims' payments
        reversed in it and the maternity cash benefits paid and taken back in it (fen), with the
        mark that records the period as settled once the settlement is written. Refused while a
        month whose payments it reverses is not settled."""
        with self._connected() as conn:
            entries, reversed_payments = _period_entries(conn, period), _reversed_payments(conn, period)
            periods.refuse_unsettled(conn, period, reversed_payments)
        return PeriodRead.of(self.url, self.shown, period, entries, reversed_payments)

    def paid_batches(self, period: str) -> dict[str, int]:
        """Batch id → the direct claims it paid in `period`: the batches whose score outputs a
        settlement of the period must be made from (yibao.settlement.batches)."""
        t = schema.entries
        query = (select(t.c.batch_id, func.count())
                 .where(t.c.period == period, t.c.entry == PAYMENT, t.c.kind == "claim",
                        t.c.settlement_mode == "direct")
                 .group_by(t.c.batch_id))
        with self._connected() as conn:
            return {str(b): int(n) for b, n in conn.execute(query)}

    def month_batches(self, period: str) -> dict[str, bool]:
        """Every batch booked in `period`, in the order committed: batch id → whether it was scored
        (false for a reversal of `yibao ledger reverse`, which has no score folder). A month whose
        batches are all reversals is settled from the ledger alone (yibao.settlement.batches).
        Such a batch is known by what it holds — one reversal, nothing else — and by its id, the
        digest of that reversal (`reversal_batch`): a scored batch whose only entry is a reversal
        (a correction refused twice, GEN-011) has a score folder all the same."""
        b, e = schema.batches, schema.entries
        with self._connected() as conn:
            booked = conn.execute(select(b.c.batch_id, b.c.claims, b.c.duplicates, b.c.reversals)
                                  .where(b.c.period == period).order_by(b.c.seq)).all()
            alike = [r.batch_id for r in booked if (r.claims, r.duplicates, r.reversals) == (0, 0, 1)]
            held = _rows_of(conn, select(e.c.batch_id, e.c.mdtrt_id, e.c.reverses).where(e.c.entry == REVERSAL),
                            e.c.batch_id, alike)
        alone = {r.batch_id for r in held if r.batch_id == reversal_batch(r.mdtrt_id, int(r.reverses))}
        return {r.batch_id: r.batch_id not in alone for r in booked}

    def reversals(self, period: str) -> pd.DataFrame:
        """Direct claims' payments reversed in a period, as settlement reads them (fen): what
        `settle --verify` holds a settlement's reversal lines against (the reversals alone)."""
        with self._connected() as conn:
            return reversal_lines(_reversed_payments(conn, period), period)

    def replacing(self, period: str) -> dict[str, str]:
        """The claims paid more than once in a period, each with the batch of its last payment
        (`yibao.ledger.periods.last_payments`): what `settle --verify` combines the month's score
        folders with."""
        with self._connected() as conn:
            return last_payments(_period_entries(conn, period))

    def refuse_settled(self, period: str) -> None:
        """Refuse a batch for a settled period before it is scored (its commit checks again)."""
        with self._connected() as conn:
            periods.refuse_settled(conn, period)

    def record_settled(self, mark: Mark, manifest_sha256: str, withheld: Iterable[str] = ()) -> None:
        """Record `mark`'s period as settled, under the writer lock: after every commit that came
        before, and before any that comes after (which then refuses to book in it). With it, the
        month's payments of the claims its statements withheld (`withheld`, claim ids), the first
        time only: the institutions were paid by that settlement."""
        e = schema.entries
        try:
            with _one_writer(self.engine) as conn:
                if periods.record(conn, mark, manifest_sha256):
                    query = select(e.c.entry_id, e.c.period).where(
                        e.c.period == mark.period, e.c.entry == PAYMENT, e.c.kind == "claim",
                        e.c.settlement_mode == "direct")
                    _insert(conn, schema.withheld_payments,
                            _frame(_rows_of(conn, query, e.c.mdtrt_id, withheld), ["entry_id", "period"]))
        except DBAPIError as exc:
            raise InputError(f"period {mark.period} was not recorded as settled in the ledger {self.shown}: "
                             f"{_first_line(exc)}; the settlement was not written, run it again once that is "
                             f"mended") from None

    def status(self) -> dict[str, Any]:
        """Batches, claim count, fund totals per year, per settlement period the funds and the
        cash benefits paid to persons beside them and the funds its statements withheld from
        the institutions (yuan), and the periods settled: what `yibao ledger status` shows."""
        b, e, w = schema.batches, schema.entries, schema.withheld_payments
        paid = schema.FUNDS + CASH
        with self._connected() as conn:
            batches = [dict(r._mapping) for r in conn.execute(select(b).order_by(b.c.seq))]
            claims = conn.execute(select(func.count()).select_from(schema.paid_claims)).scalar_one()
            sums = {key: conn.execute(select(e.c[key], *[func.coalesce(func.sum(e.c[f]), 0).label(f) for f in paid])
                                      .group_by(e.c[key]).order_by(e.c[key])).all() for key in ("year", "period")}
            withheld = dict(conn.execute(select(w.c.period, func.sum(e.c.fund_pay_sumamt))
                                         .join(e, e.c.entry_id == w.c.entry_id).group_by(w.c.period)).all())
            settled = periods.settled(conn)
        years = {str(r.year): {f: float(fen_to_yuan(getattr(r, f))) for f in paid} for r in sums["year"]}
        in_periods = {r.period: {**{f: float(fen_to_yuan(getattr(r, f))) for f in ("fund_pay_sumamt",) + CASH},
                                 "withheld": float(fen_to_yuan(int(withheld.get(r.period, 0))))}
                      for r in sums["period"]}
        totals = {f: float(fen_to_yuan(sum(int(getattr(r, f)) for r in sums["year"])))
                  for f in ("fund_pay_sumamt",) + CASH}
        return {"ledger": self.shown, "batches": batches, "claims": int(claims), **totals, "years": years,
                "periods": in_periods, "settled": settled}

    # --- writing ---------------------------------------------------------------------------

    def commit(self, c: Commit) -> None:
        """Write a batch in one transaction. A second payment of a claim (another job committed
        it meanwhile) violates `paid_claims`' key and rolls the whole batch back."""
        self.commit_all([c])

    def commit_all(self, parts: Iterable[Commit]) -> None:
        """Write a batch given in parts (a partitioned run's partitions, `yibao.ledger.parts`,
        each with the batch's id, period and tariff), all in the one transaction; the parts
        are read one at a time, so the batch need not be in memory at once."""
        try:
            self._commit(parts)
        except IntegrityError:  # a claim another job paid meanwhile (the writer lock keeps ids apart)
            raise InputError("nothing was committed: another job paid a claim of this batch at the same time; "
                             "run again") from None
        except DBAPIError as exc:  # a full disk, a read-only file, a lost connection: said as the database says it
            raise InputError(f"nothing was committed to the ledger {self.shown}: {_first_line(exc)}; "
                             f"run again once that is mended") from None

    def _commit(self, parts: Iterable[Commit]) -> None:
        with _one_writer(self.engine) as conn:
            seq = conn.execute(select(func.coalesce(func.max(schema.batches.c.seq), 0))).scalar_one() + 1
            first = conn.execute(select(func.coalesce(func.max(schema.entries.c.entry_id), 0))).scalar_one() + 1
            counts = np.zeros(3, dtype=np.int64)
            for c in parts:
                periods.refuse_settled(conn, c.period)
                _check_unchanged(conn, c.persons, c.held)
                _check_corrections(conn, c)
                self._reverse(conn, c.reversed, c.batch_id, c.period, first)
                first += len(c.reversed)
                payments = c.payments.assign(entry_id=np.arange(first, first + len(c.payments)),
                                             batch_id=c.batch_id, period=c.period, entry=PAYMENT, reverses=None)
                first += len(c.payments)
                _insert(conn, schema.entries, payments)
                _insert(conn, schema.paid_claims, payments[["mdtrt_id", "entry_id", "batch_id", "period"]])
                _insert(conn, schema.batch_duplicates, c.duplicates.assign(batch_id=c.batch_id))
                if c.corrections is not None:
                    _insert(conn, schema.corrections, c.corrections.assign(batch_id=c.batch_id))
                _insert(conn, schema.batch_accumulators, c.inputs.assign(batch_id=c.batch_id))
                _replace_accumulators(conn, c.after)
                counts += (len(c.payments), len(c.duplicates), len(c.reversed))
            conn.execute(schema.batches.insert().values(
                batch_id=c.batch_id, seq=seq, period=c.period, tariff=c.tariff, claims=int(counts[0]),
                duplicates=int(counts[1]), reversals=int(counts[2]), status="committed"))
            _pause_for_tests()

    def reverse_only(self, payments: pd.DataFrame, batch_id: str, period: str) -> None:
        """Reverse paid claims outside any scoring (`yibao ledger reverse`): a batch of its own."""
        held = self.accumulators(payments["psn_no"])
        self.commit(Commit(batch_id, period, "", payments.iloc[0:0].drop(columns="entry_id"), payments,
                           pd.DataFrame(columns=["mdtrt_id", "paid_batch", "paid_period"]),
                           empty_accumulators(), less_payments(held, payments),
                           tuple(sorted(set(payments["psn_no"]))), held))

    @staticmethod
    def _reverse(conn: Connection, payments: pd.DataFrame, batch_id: str, period: str, first: int) -> None:
        if payments.empty:
            return
        t = schema.paid_claims
        entries = reversal_entries(payments, batch_id, period)
        _insert(conn, schema.entries, entries.assign(entry_id=np.arange(first, first + len(entries))))
        gone = conn.execute(t.delete().where(and_(t.c.mdtrt_id == bindparam("m"), t.c.entry_id == bindparam("e"))),
                            [{"m": m, "e": int(e)} for m, e in zip(payments["mdtrt_id"], payments["entry_id"])])
        if gone.rowcount != len(payments):
            raise InputError("a claim to reverse was reversed by another job meanwhile: nothing was committed")


@contextmanager
def _one_writer(engine: Engine) -> Iterator[Connection]:
    """A write transaction holding the ledger's writer lock from its first statement: what it
    reads to decide its writes (the next batch number and entry id, the accumulators it checks)
    includes every batch committed before it, so two jobs at once commit one after the other
    instead of clashing on a key. SQLite: BEGIN IMMEDIATE (the driver began a transaction only at
    the first write, after those reads, and never before a CREATE TABLE, so a schema could be
    left half made); PostgreSQL: a transaction-level advisory lock."""
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif conn.dialect.name == "postgresql":
            conn.execute(select(func.pg_advisory_xact_lock(WRITER_LOCK)))
        yield conn


def _period_entries(conn: Connection, period: str) -> pd.DataFrame:
    t = schema.entries
    return _frame(conn.execute(select(t).where(t.c.period == period).order_by(t.c.entry_id)),
                  [c.name for c in t.columns])


def _reversed_payments(conn: Connection, period: str) -> pd.DataFrame:
    """The period's reversal entries, each with the month its payment was booked in (`paid_period`),
    whether that month's settlement withheld it (`withheld`), and whether the claim was paid again
    after it in the period (`replaced`: filed again, or corrected under its own id)."""
    e, w = schema.entries, schema.withheld_payments
    paid, later = e.alias("paid"), e.alias("later")
    replaced = exists().where(later.c.mdtrt_id == e.c.mdtrt_id, later.c.period == period,
                              later.c.entry == PAYMENT, later.c.entry_id > e.c.reverses)
    query = (select(e, paid.c.period.label("paid_period"), w.c.entry_id.is_not(None).label("withheld"),
                    replaced.label("replaced"))
             .select_from(e.join(paid, paid.c.entry_id == e.c.reverses).outerjoin(w, w.c.entry_id == e.c.reverses))
             .where(e.c.period == period, e.c.entry == REVERSAL).order_by(e.c.entry_id))
    return _frame(conn.execute(query), [c.name for c in e.columns] + ["paid_period", "withheld", "replaced"])


def _accumulators(conn: Connection, persons: Iterable[str]) -> pd.DataFrame:
    t = schema.accumulators
    rows = [r for chunk in _chunks(sorted(set(persons))) for r in conn.execute(select(t).where(t.c.psn_no.in_(chunk)))]
    out = _frame(rows, [c.name for c in t.columns])
    return out.sort_values(["psn_no", "year"], kind="stable").reset_index(drop=True) if len(out) \
        else empty_accumulators()


def refused_naming(rows: pd.DataFrame, claim: str, names: str, code: str) -> pd.DataFrame:
    """`rows` (sorted by `claim`, then `names`) as the batch's duplicates are kept
    (`schema.batch_duplicates`): per claim its `code`, the paid_batch and paid_period of its first
    row, and the claims it names, joined."""
    named = rows.groupby(claim, sort=False)[names].agg(LIST_SEP.join)
    first = rows.drop_duplicates(claim)
    return pd.DataFrame({"mdtrt_id": first[claim].to_numpy(dtype=object),
                         "paid_batch": first["paid_batch"].to_numpy(dtype=object),
                         "paid_period": first["paid_period"].to_numpy(dtype=object), "code": code,
                         "named": named.reindex(first[claim]).to_numpy(dtype=object)})


def _rows_of(conn: Connection, query: Any, column: Any, keys: Iterable[str] | None) -> list[Any]:
    """The rows of `query`, only those whose `column` is one of `keys` when given (asked in
    chunks of `CHUNK` keys)."""
    if keys is None:
        return list(conn.execute(query))
    return [r for chunk in _chunks(sorted(set(keys))) for r in conn.execute(query.where(column.in_(chunk)))]


def _check_unchanged(conn: Connection, persons: tuple[str, ...], held: pd.DataFrame | None) -> None:
    """Optimistic concurrency: the batch's persons' accumulators must still be what its scoring
    read, or a job that committed meanwhile would have its deductibles and caps used again.
    PostgreSQL serializes commits with a transaction lock first; SQLite's write lock makes a
    second writer fail instead (an error here too)."""
    if held is None:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(2035)"))  # one committer at a time
    now = _accumulators(conn, persons)
    if not now.reset_index(drop=True).equals(held.reset_index(drop=True)):
        raise ConflictError("nothing was committed: another job changed the accumulators of persons in this "
                            "batch while it was scored; run it again")


def _standing(conn: Connection, targets: Iterable[str]) -> pd.DataFrame:
    """`Ledger.standing`, on `conn`."""
    c, p = schema.corrections, schema.paid_claims
    below: dict[str, set[str]] = {}
    seen: set[str] = set()
    frontier = set(targets)
    while frontier:  # a claim corrected again is looked up once (a correction may name its own corrector)
        seen |= frontier
        rows = _rows_of(conn, select(c.c.correction_of, c.c.mdtrt_id), c.c.correction_of, frontier)
        for up, down in rows:
            below.setdefault(up, set()).add(down)
        frontier = {down for _, down in rows} - seen
    reach = pd.DataFrame([(t, d) for t in set(targets) for d in _descendants(below, t)],
                         columns=["target", "mdtrt_id"])
    paid = _frame(_rows_of(conn, select(p.c.mdtrt_id, p.c.batch_id, p.c.period), p.c.mdtrt_id, reach["mdtrt_id"]),
                  ["mdtrt_id", "paid_batch", "paid_period"])
    return reach.merge(paid, on="mdtrt_id")


def _descendants(below: dict[str, set[str]], claim: str) -> set[str]:
    """The claims that replace `claim` through the corrections `below` (claim → its correctors)."""
    found: set[str] = set()
    stack = [claim]
    while stack:
        for down in below.get(stack.pop(), ()):
            if down not in found:
                found.add(down)
                stack.append(down)
    return found


def _check_corrections(conn: Connection, c: Commit) -> None:
    """A stay is never paid twice through a claim and its corrections: nothing is committed when,
    since the batch was scored, another job booked a correction of a claim it pays (scored now,
    the claim is refused SUPERSEDED), paid a claim its corrections name (scored now, that payment
    is reversed), or paid another correction of it (scored now, refused CORRECTED_TWICE)."""
    t, p = schema.corrections, schema.paid_claims
    paying = set(c.payments["mdtrt_id"].to_numpy(dtype=object)[(c.payments["kind"] == "claim").to_numpy()])
    # corrections are a handful a month: all of them, rather than a query per 500 claims the batch pays
    named = set(conn.execute(select(t.c.correction_of).where(t.c.batch_id != c.batch_id)).scalars()) & paying
    fixes = pd.DataFrame(columns=["mdtrt_id", "correction_of"]) if c.corrections is None else c.corrections
    paid = {int(r.entry_id) for r in _rows_of(conn, select(p.c.entry_id), p.c.mdtrt_id, fixes["correction_of"])}
    fixes = fixes[np.fromiter((m in paying for m in fixes["mdtrt_id"]), dtype=bool, count=len(fixes))]
    stands = fixes.merge(_standing(conn, fixes["correction_of"]).rename(columns={"mdtrt_id": "named"}),
                         left_on="correction_of", right_on="target")
    if named or paid - {int(e) for e in c.reversed["entry_id"]} or (stands["named"] != stands["mdtrt_id"]).any():
        raise ConflictError("nothing was committed: another job booked a correction of a claim of this batch, or "
                            "paid a claim its corrections name or another correction of it, while it was scored; "
                            "run it again")


def _insert(conn: Connection, table: Any, frame: pd.DataFrame) -> None:
    if len(frame):
        conn.execute(table.insert(), _records(frame[[c.name for c in table.columns]]))


def _replace_accumulators(conn: Connection, after: pd.DataFrame) -> None:
    if after.empty:
        return
    t = schema.accumulators
    conn.execute(t.delete().where(and_(t.c.psn_no == bindparam("p"), t.c.year == bindparam("y"))),
                 [{"p": p, "y": int(y)} for p, y in zip(after["psn_no"], after["year"])])
    _insert(conn, t, after)


def _pause_for_tests() -> None:
    """With YIBAO_TEST_PAUSE_COMMIT=SECONDS, say so on stderr and wait before the commit: the
    crash test kills the process here and checks that the ledger is as before."""
    seconds = os.environ.get(PAUSE_ENV)
    if seconds:
        print("ledger: committing", file=sys.stderr, flush=True)
        time.sleep(float(seconds))


T = TypeVar("T")


def record_settled(mark: Mark, manifest_sha256: str, withheld: Iterable[str] = ()) -> None:
    """Record a settlement's period as settled in the ledger it read (`Ledger.record_settled`)."""
    read_ledger(mark.url, lambda ledger: ledger.record_settled(mark, manifest_sha256, withheld))


def read_ledger(url: str | Path, read: Callable[[Ledger], T]) -> T:
    """What `read` reads from the ledger at `url`, the ledger opened once and closed after."""
    ledger = Ledger(url)
    try:
        return read(ledger)
    finally:
        ledger.close()
