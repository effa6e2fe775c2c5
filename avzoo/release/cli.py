"""``avzoo release <family> --model DIR --corpus DIR``: calibrate, bundle, evaluate and write the card."""

from __future__ import annotations

from avzoo.families import command_group

app = command_group(
    "release",
    "Release a model family: calibrate, bundle, evaluate, write its card.",
    driver="avzoo.release:main",
)
