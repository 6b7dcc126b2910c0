"""The window: every Qt import lives here, on top of ``desktop_app.core``.

``launch`` starts the app, ``app_context`` adapts the core's engine with Qt
signals, and the widgets observe core objects through small adapters (the chat
panel's list model follows a ``ConversationSession``).
"""
