"""Persistence: SQLAlchemy 2 typed models, engine/session factories, batch-shaped queries and migrations."""
