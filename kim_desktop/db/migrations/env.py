"""Alembic environment: runs on the connection KIM Desktop passes in (or the URL in -x db=...)."""

from alembic import context
from sqlalchemy import create_engine

from kim_desktop.db.models import Base

config = context.config
target_metadata = Base.metadata


def run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:  # developer use: alembic -x db=sqlite:///file.sqlite3 revision --autogenerate
    url = context.get_x_argument(as_dictionary=True).get("db", "sqlite:///:memory:")
    with create_engine(url).begin() as conn:
        run(conn)
