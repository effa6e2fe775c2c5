"""The ``separation`` evaluate module; load it with ``avzoo.metrics.load("separation")``."""
