"""``avzoo train <family> key=value ...``: run a family's Accelerate recipe (one command per registered family).

For many GPUs: ``accelerate launch -m avzoo.train.<recipe> ...`` with the same arguments.
"""

from __future__ import annotations

from avzoo.families import command_group

app = command_group("recipe", "Train a model family with its Accelerate recipe.")
