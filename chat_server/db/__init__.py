"""Storage: SQLAlchemy 2 models, engine set-up, migrations and queries."""
