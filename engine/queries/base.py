"""A resource's query: keyword filters into a SELECT, the sort keys a caller may name, the default order."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy import ColumnElement, Row, Select, exists, func, select
from sqlalchemy.orm import Session

from ..models import ProcessInstance

ACTIVE = "ACTIVE"


def columns_of(model, *exclude: str) -> list:
    """Every column of a model but the heavy ones (specs, serialized state)."""
    return [getattr(model, c.key) for c in model.__table__.columns if c.key not in exclude]


def where_equal(stmt: Select, *pairs: tuple[Any, Any]) -> Select:
    """Add `column == value` for every pair whose value was given."""
    for column, value in pairs:
        if value is not None:
            stmt = stmt.where(column == value)
    return stmt


def in_tenants(stmt: Select, instance_id_column, tenant_ids: list[str] | None) -> Select:
    """Only rows of instances of these tenants, or of no tenant (Camunda's tenant check); None: all."""
    if tenant_ids is None:
        return stmt
    tenant = (ProcessInstance.tenant_id.in_(tenant_ids) | ProcessInstance.tenant_id.is_(None)) if tenant_ids \
        else ProcessInstance.tenant_id.is_(None)
    if instance_id_column is ProcessInstance.id:
        return stmt.where(tenant)
    return stmt.where(exists().where(ProcessInstance.id == instance_id_column, tenant))


def where_flag(stmt: Select, flag: bool | None, condition: ColumnElement) -> Select:
    # Camunda's boolean filters only ever narrow: `finished=false` means "no filter", not "unfinished".
    return stmt.where(condition) if flag else stmt


@dataclass(frozen=True)
class Query:
    build: Callable[..., Select]
    sort_keys: dict[str, Any]
    default_order: tuple

    def list(
        self,
        session: Session,
        *,
        sort_by: str | None = None,
        sort_order: str | None = None,
        first_result: int | None = 0,
        max_results: int | None = None,
        **filters,
    ) -> list[Row]:
        stmt = self.build(**filters)
        order = list(self.default_order)
        if sort_by is not None:
            columns = self.sort_keys[sort_by]
            columns = columns if isinstance(columns, tuple) else (columns,)
            descending = sort_order == "desc"
            # NULLS LAST in both directions, so SQLite and PostgreSQL answer in the same order.
            order = [(c.desc() if descending else c.asc()).nulls_last() for c in columns] + order
        stmt = stmt.order_by(*order)
        if first_result:
            stmt = stmt.offset(first_result)
        if max_results is not None:
            stmt = stmt.limit(max_results)
        return list(session.execute(stmt).all())

    def count(self, session: Session, **filters) -> int:
        stmt = self.build(**filters).order_by(None)
        return session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()

    def first(self, session: Session, **filters) -> Row | None:
        return session.execute(self.build(**filters).limit(1)).first()
