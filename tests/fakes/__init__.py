"""Loopback fakes of the platforms Carebot talks to (bound to 127.0.0.1, port 0)."""
