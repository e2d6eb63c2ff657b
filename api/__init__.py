"""The seed JSON endpoints, API tokens and the health check."""
