"""search index: the search_key table, filled for persons already stored

Revision ID: 0002_search_index
Revises: 0001_initial
Create Date: 2026-11-27 22:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_search_index"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

BATCH = 2000


def upgrade() -> None:
    op.create_table(
        "search_key",
        sa.Column("key", sa.String(length=220), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_search_key_person_id_person"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("key", "person_id", name=op.f("pk_search_key")),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("search_key", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_search_key_person_id"), ["person_id"], unique=False)
    _index_existing_persons()


def _index_existing_persons() -> None:
    # Plain SQL on the columns as they are at this revision, so later model changes cannot break it.
    from kim_desktop.services.dates import PartialDate
    from kim_desktop.services.search import person_keys

    bind = op.get_bind()
    variants: dict[str, list] = {}
    for pid, family, given in bind.execute(
        sa.text("SELECT person_id, family_name, given_names FROM person_name_variant")
    ):
        variants.setdefault(pid, []).append((family, given))
    numbers: dict[str, list] = {}
    for pid, number in bind.execute(sa.text("SELECT person_id, file_number FROM case_file WHERE deleted_at IS NULL")):
        numbers.setdefault(pid, []).append(number)
    insert = sa.text("INSERT INTO search_key (key, person_id, weight) VALUES (:key, :person_id, :weight)")
    rows = []
    result = bind.execute(
        sa.text(
            "SELECT id, family_name, given_names, birth_name, birth_year, birth_month, birth_day, phone "
            "FROM person WHERE deleted_at IS NULL AND merged_into_id IS NULL"
        )
    )
    for pid, family, given, birth_name, year, month, day, phone in result.all():
        keys = person_keys(
            family, given, birth_name, variants.get(pid, ()), PartialDate.from_parts(year, month, day), phone,
            numbers.get(pid, ()),
        )
        rows += [{"key": k, "person_id": pid, "weight": w} for k, w in keys.items()]
        if len(rows) >= BATCH:
            bind.execute(insert, rows)
            rows = []
    if rows:
        bind.execute(insert, rows)


def downgrade() -> None:
    with op.batch_alter_table("search_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_search_key_person_id"))
    op.drop_table("search_key")
