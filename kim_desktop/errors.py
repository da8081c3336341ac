"""Errors that reach the user as one clear German sentence (GUI dialog, CLI line with exit 1).

Messages never contain personal data: they name the problem and what to do, not the record.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can understand and act on. ``str(exc)`` is the (translated) message."""

    def __init__(self, message: str, *, details: object | None = None) -> None:
        super().__init__(message)
        self.message = message
        # Structured extras for callers (e.g. duplicate candidates), never shown in logs.
        self.details = details


class ValidationError(UserError):
    """Input that cannot be stored. ``field_errors`` maps field names to German messages."""

    def __init__(self, field_errors: dict[str, str]) -> None:
        first = next(iter(field_errors.items()))
        super().__init__(f"{first[1]}" if len(field_errors) == 1 else _summary(field_errors))
        self.field_errors = field_errors


def _summary(field_errors: dict[str, str]) -> str:
    return " ".join(field_errors.values())


class DuplicateError(UserError):
    """A probable duplicate exists; ``candidates`` lists them (ids and display data for the user)."""

    def __init__(self, message: str, candidates: list) -> None:
        super().__init__(message, details=candidates)
        self.candidates = candidates


class NotFoundError(UserError):
    pass


class ConflictError(UserError):
    """The record was changed by someone else since it was loaded (optimistic locking)."""


class StaleRecordError(ConflictError):
    """A save found the row version changed underneath it (two clients of the office server saving the
    same record at the same moment). Services that can name the other editor turn it into a more
    specific ``ConflictError``."""
