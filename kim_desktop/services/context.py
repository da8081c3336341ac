"""The acting user and the open database: every service call receives a ``ServiceContext``.

Permission checks (data protection issue) and the audit trail hang off this one object, so the GUI and the
CLI cannot bypass them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from ..db.engine import Database
from .audit import install_change_tracking


@dataclass(frozen=True)
class Actor:
    user_id: str | None
    display_name: str
    roles: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def local(cls) -> Actor:
        """The single user of a fresh one-person office (before user accounts are set up)."""
        return cls(None, "Einzelplatz", frozenset({"case_management", "team_lead", "reception", "admin"}))


@dataclass
class ServiceContext:
    database: Database
    actor: Actor

    def __post_init__(self) -> None:
        install_change_tracking(self.database.session_factory)

    @contextmanager
    def write(self) -> Iterator:
        """A unit of work that commits or leaves no trace, with the actor attached for the change log."""
        with self.database.session() as session:
            session.info["user_id"] = self.actor.user_id
            session.info["actor"] = self.actor
            yield session

    @contextmanager
    def read(self) -> Iterator:
        with self.database.read_session() as session:
            session.info["user_id"] = self.actor.user_id
            session.info["actor"] = self.actor
            yield session
