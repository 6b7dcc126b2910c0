"""Talking to the Messages API: the HTTP client, retries and the tier limiter.

Only :mod:`desktop_app.core.api.client` loads httpx; the retry arithmetic and the
limiter load without it, so the window can show countdowns before httpx is needed.
"""
