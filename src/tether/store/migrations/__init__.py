"""Alembic migrations for the tether database; ``tether.store.migrate`` runs them.

Every schema change is a new hand-checked file in ``versions/``; a released migration is
never edited, and an upgrade never loses data.
"""
