"""Turning replies into Qt's rich-text HTML subset, in pure Python (safe in workers)."""
