"""The Qt widgets that sit on top of ``desktop_app.core``."""
