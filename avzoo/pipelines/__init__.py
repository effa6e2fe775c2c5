"""Pipeline tasks shared by families; each registers with transformers' ``PIPELINE_REGISTRY`` on ``import avzoo``.

Like a model folder, a pipeline module imports only ``from avzoo.<module> import ...`` from avzoo, so it can be
saved next to a model as remote code (``avzoo.hub.vendor`` copies what it imports).
"""
