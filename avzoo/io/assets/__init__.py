"""Model files bundled with avzoo.io (see README.md for provenance and licences)."""
