"""Settings in the window: the settings store, the API key state and the settings pane."""
