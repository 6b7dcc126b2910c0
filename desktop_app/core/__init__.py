"""The Qt-free engine, in layers that each use only those below them.

``engine`` wires everything; ``history`` and ``render`` sit on ``conversation``
(turns, the sending rule, the session and the turn runner), which sits on ``api``
(the HTTP client, retries, the tier limiter), which sits on ``wire`` (the
Messages API's data shapes). Base modules (errors, catalog, settings, secrets,
paths, images, logs, safe_text, observable) may be used by every layer.
import-linter checks all of it (see ``pyproject.toml``).
"""
