"""The web UI's views, one module per page (thin: they read selectors and call services)."""
