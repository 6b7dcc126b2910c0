"""The history sidebar: the conversation list model and the sidebar widget."""
