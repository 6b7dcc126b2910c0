"""Shared fixtures: offscreen Qt, and no test ever touches the real keychain or network."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
