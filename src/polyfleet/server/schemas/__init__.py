"""Request and response bodies of the API, one module per resource (pydantic; the scenario's own
models where a body is a scenario section)."""
