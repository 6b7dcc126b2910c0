"""The built-in offline Messages API server used by the demo and the tests."""
