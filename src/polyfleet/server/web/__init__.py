"""The dashboard: server-rendered pages (Jinja2), no build step, nothing fetched from elsewhere."""
