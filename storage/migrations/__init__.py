"""Alembic migrations for the feedback store, run programmatically by `storage.db.upgrade`."""
