"""The one pydantic base every value crossing a stage boundary uses, and source spans."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    """Base of every value that crosses a stage boundary; frozen, strict about fields, tuples not lists."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Span(Model):
    """Where a node came from: 1-based like editors count; end_column is one past the end."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int
