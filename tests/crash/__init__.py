"""Crash-safety test support: the diagram, the worker-side handler and the loopback receiver."""
