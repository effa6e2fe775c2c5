"""``avzoo export <family> ...``: deployable exports of a model family (one command per registered family)."""

from __future__ import annotations

from avzoo.families import command_group

app = command_group("export", "Export models for deployment (ONNX).")
