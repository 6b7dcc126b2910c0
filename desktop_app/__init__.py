"""Iris: a Qt-native desktop chat and vision client for Claude."""

__version__ = "0.1.0"
