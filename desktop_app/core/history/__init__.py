"""Durable history: the SQLite store, its writer threads, the service and export/import."""
