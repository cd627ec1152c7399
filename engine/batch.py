"""Rows a command inserts, sent together: one statement on PostgreSQL, one per table elsewhere.

A command that moves a token writes an inbox row, its candidates, history, variables and the
audit row; sent one by one, each is a round trip to PostgreSQL (most of a command's cost). They
wait in the session instead and go out as one statement of data-modifying CTEs
(`WITH a AS (INSERT ...), b AS (INSERT ...) INSERT ...`) just before anything else is sent in the
same session (a query, an UPDATE, the commit), so every later statement of the command still sees
them. PostgreSQL checks foreign keys at the end of the statement, so a row and the rows that
refer to it may share one. A failure is the command's, as before: the transaction rolls back.
"""
from __future__ import annotations

import functools

from sqlalchemy import Table, TextClause, bindparam, event, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

_PENDING = "lienthong.pending_inserts"


def insert_later(session: Session, table: Table, rows: list[dict], update_on_conflict: tuple[str, ...] = (),
                 key: str | None = None) -> None:
    """Queue rows (dicts with the same keys) for `table`; with `update_on_conflict`, a row whose
    `key` (a unique column) exists updates those columns instead (an upsert)."""
    if rows:
        rows = _with_defaults(table, rows)
        session.info.setdefault(_PENDING, []).append((table, rows, (key, update_on_conflict) if key else None))


def _with_defaults(table: Table, rows: list[dict]) -> list[dict]:
    """The columns' Python-side defaults filled in (a multi-row VALUES inside a WITH does not apply them)."""
    missing = [column for column in table.columns
               if column.name not in rows[0] and column.default is not None and not column.default.is_sequence]
    if not missing:
        return rows
    defaults = {column.name: column.default for column in missing}
    return [{**row, **{name: default.arg if default.is_scalar else default.arg(None) for name, default in defaults.items()}}
            for row in rows]


def send_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    if session.bind.dialect.name != "postgresql":  # SQLite has no INSERT in a WITH: one executemany a table
        for table, rows, upsert in pending:
            session.execute(_insert(table, upsert), rows)
        return
    shape = tuple((table, tuple(rows[0]), len(rows), upsert) for table, rows, upsert in pending)
    parameters = {f"p{entry}_{row}_{number}": values[column] for entry, (_, columns, _, _) in enumerate(shape)
                  for row, values in enumerate(pending[entry][1]) for number, column in enumerate(columns)}
    session.execute(_together(shape, session.bind.dialect.identifier_preparer), parameters)


def _insert(table: Table, upsert: tuple[str, tuple[str, ...]] | None):
    statement = sqlite.insert(table)
    if upsert is None:
        return statement
    key, columns = upsert
    return statement.on_conflict_do_update(index_elements=[key], set_={name: statement.excluded[name] for name in columns})


@functools.lru_cache(maxsize=512)
def _together(shape: tuple, preparer) -> TextClause:
    """One statement for inserts of this shape ((table, columns, rows, upsert) each), typed binds
    included. Written out once per shape and kept: SQLAlchemy does not cache a multi-row VALUES
    (it compiled one anew for every command, ~5 ms each)."""
    inserts, binds = [], []
    for entry, (table, columns, count, upsert) in enumerate(shape):
        rows = []
        for row in range(count):
            names = [f"p{entry}_{row}_{column}" for column in range(len(columns))]
            binds += [bindparam(name, type_=table.c[column].type) for name, column in zip(names, columns)]
            rows.append("(" + ", ".join(f":{name}" for name in names) + ")")
        sql = (f"INSERT INTO {preparer.format_table(table)} ({', '.join(preparer.quote(c) for c in columns)}) "
               f"VALUES {', '.join(rows)}")
        if upsert is not None:
            key, updated = upsert
            sql += (f" ON CONFLICT ({preparer.quote(key)}) DO UPDATE SET "
                    + ", ".join(f"{preparer.quote(c)} = excluded.{preparer.quote(c)}" for c in updated))
        inserts.append(sql)
    last = inserts.pop()
    if inserts:
        last = "WITH " + ", ".join(f"w{n} AS ({sql})" for n, sql in enumerate(inserts)) + " " + last
    return text(last).bindparams(*binds)


def install(sessions) -> None:
    """Send a session's queued rows before each statement it runs and before it commits; drop
    them when it rolls back."""

    @event.listens_for(sessions, "do_orm_execute")
    def _before_statement(state) -> None:
        if _PENDING in state.session.info:
            send_pending(state.session)

    @event.listens_for(sessions, "before_flush")
    def _before_flush(session, *_) -> None:
        if _PENDING in session.info:
            send_pending(session)

    @event.listens_for(sessions, "before_commit")
    def _before_commit(session) -> None:
        send_pending(session)

    @event.listens_for(sessions, "after_rollback")
    def _after_rollback(session) -> None:
        session.info.pop(_PENDING, None)
