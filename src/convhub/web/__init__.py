"""What convhub serves to browsers: the API's documentation pages now, the web UI next, and their static files."""
