"""``avzoo evaluate <family> ...``: score a model and write the evaluation JSON its card quotes.

One command per registered family (:mod:`avzoo.families`); each passes its arguments to the family's evaluation
module's ``main``, which checks them before anything loads.
"""

from __future__ import annotations

from avzoo.families import command_group

app = command_group(
    "evaluation", "Evaluate a model family; writes the evaluation JSON its model card is rendered from."
)
