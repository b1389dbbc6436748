"""Pages of result rows: one LIMIT/OFFSET query that also counts, whatever the table size."""

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
    """Run one page of `stmt`; a page past the end shows the last page instead.

    The total comes with the page's rows (COUNT(*) OVER (), one query); only a page past
    the end, which has no rows to carry it, costs a separate count (`count`, else one of
    `stmt`) and the last page's query. `row` gets each row without that total.
    """
    page = min(max(page, 1), MAX_PAGE)
    rows = _page_rows(stmt, page, per_page)
    if rows:
        total = rows[0][-1]
    else:
        count_stmt = (
            count
            if count is not None
            else select(func.count()).select_from(stmt.order_by(None).subquery())
        )
        total = db.session.scalar(count_stmt) or 0
        last = max(1, -(-total // per_page))
        if page > last:
            page = last
            rows = _page_rows(stmt, page, per_page) if total else []
            total = rows[0][-1] if rows else total
    items = [row(r[:-1]) if row else r[:-1] for r in rows]
    return Page(items=items, page=page, per_page=per_page, total=total)


def _page_rows(stmt: Select, page: int, per_page: int) -> list[Any]:
    windowed = stmt.add_columns(func.count().over().label("page_total"))
    result = db.session.execute(windowed.limit(per_page).offset((page - 1) * per_page))
    return list(result.unique().all())
