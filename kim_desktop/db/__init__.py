"""Database layer: models, engine factory, migrations, seed data. No Qt."""
