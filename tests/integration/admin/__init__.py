"""Admin endpoints and web UI files on in-process servers (``start_server``, 127.0.0.1:0)."""
