"""The ``blendshape_error`` evaluate module; load it with ``avzoo.metrics.load("blendshape_error")``."""
