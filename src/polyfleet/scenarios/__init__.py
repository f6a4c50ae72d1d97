"""Built-in scenario files (package data): `polyfleet plan NAME` reads NAME.yaml from here."""
