"""The conversation on screen: the chat panel, composer, transcript and message widgets."""
