"""The ``classification`` evaluate module; load it with ``avzoo.metrics.load("classification")``."""
