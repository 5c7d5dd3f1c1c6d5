"""Persistence: the tables (models), the engine factory and the schema migrations."""
