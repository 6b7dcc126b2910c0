"""A conversation and its process: turns, what is sent, and the runner of one exchange."""
