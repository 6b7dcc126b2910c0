"""Fixtures for the core tests: the offline server with fault injection."""

from __future__ import annotations

from tests.support.offline import offline_server as offline_server
