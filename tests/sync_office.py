"""The office database of the sync tests (tests/test_sync*.py): a counsellor, a colleague, open cases."""

from __future__ import annotations

from datetime import date

from kim_desktop.db.engine import open_database
from kim_desktop.db.models import Person
from kim_desktop.services import cases, persons, users
from kim_desktop.services.context import Actor, ServiceContext

PASSWORD = "Reise-Passwort-2026"


class Office:
    """The office database with a counsellor (anna) and a colleague (bernd), each with open cases."""

    def __init__(self, path, n_cases: int = 3, url: str | None = None):
        self.path = path
        self.url = url or str(path)
        self.ctx = ServiceContext(open_database(self.url), Actor.local())
        self.anna = users.add_user(self.ctx, "anna", "Anna Beispiel", PASSWORD, ["case_management"]).id
        self.bernd = users.add_user(self.ctx, "bernd", "Bernd Muster", PASSWORD, ["case_management"]).id
        self.persons, self.cases = [], []
        for i in range(n_cases):
            self.add_case(f"Klientin{i}", self.anna)
        self.other_case = self.add_case("Fremd", self.bernd)

    def add_case(self, family: str, manager: str) -> str:
        person = persons.create_person(
            self.ctx, {"family_name": family, "given_names": "Test", "city": "Köln"}, allow_duplicate=True
        ).id
        case = cases.open_case(self.ctx, person, case_manager_id=manager, opened_on=date(2026, 1, 5)).id
        if manager == self.anna:
            self.persons.append(person)
            self.cases.append(case)
        return case

    def person(self, person_id: str):
        with self.ctx.read() as session:
            return session.get(Person, person_id)

    def close(self):
        self.ctx.database.dispose()
