"""Pages of result rows: one COUNT and one LIMIT/OFFSET query, whatever the table size."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select

from therapy.extensions import db
from therapy.parsing import parse_int

T = TypeVar("T")

# A page number past this is not a real request; it would only make the OFFSET huge.
MAX_PAGE = 100_000


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def first_index(self) -> int:
        """1-based position of the first item on this page (0 when there is none)."""
        return (self.page - 1) * self.per_page + 1 if self.items else 0

    @property
    def last_index(self) -> int:
        return (self.page - 1) * self.per_page + len(self.items)


def page_number(raw: str | None) -> int:
    """The page asked for in a query string; anything odd is page 1."""
    return min(max(parse_int(raw) or 1, 1), MAX_PAGE)


def paginate(
    stmt: Select,
    *,
    page: int,
    per_page: int,
    count: Select | None = None,
    row: Callable[[Any], T] | None = None,
) -> Page[Any]:
    """Run one page of `stmt`; a page past the end shows the last page instead."""
    count_stmt = (
        count
        if count is not None
        else select(func.count()).select_from(stmt.order_by(None).subquery())
    )
    total = db.session.scalar(count_stmt) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    result = db.session.execute(stmt.limit(per_page).offset((page - 1) * per_page))
    items = [row(r) if row else r for r in result.unique().all()]
    return Page(items=items, page=page, per_page=per_page, total=total)
