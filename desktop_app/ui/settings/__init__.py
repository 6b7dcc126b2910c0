"""Settings in the window: the store, the API key state, pages, and conversation settings."""
