"""Post-processing of blendshape tracks that any speech-to-blendshape family shares.

* :mod:`avzoo.animation.style`: a performer's calibration (per-channel monotone curves and a time offset),
  fitted on a real take and applied by the processors (``style=``).
* :mod:`avzoo.animation.life`: speech-driven life on the upper face (blinks, brow raises on stressed syllables).

This package imports only the bottom layer (``avzoo.arkit``, ``avzoo.io``) and numpy/scipy, so every family's
processor can use it.
"""
