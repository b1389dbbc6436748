"""The data version: one row whose token changes in every transaction that writes."""

from __future__ import annotations

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from therapy.models.base import Base


class DataVersion(Base):
    """A random token, replaced by every commit that changed anything a kept page part
    may show (see therapy/pagecache.py). One row, id 1; written in the same transaction
    as the change itself, so no reader can see the new token with the old data."""

    __tablename__ = "data_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    token: Mapped[str] = mapped_column(String(32))
