"""avzoo: audio-visual models for faces and voices, native to the Hugging Face stack.

``import avzoo`` registers every model family (:mod:`avzoo.families`) with transformers' Auto classes and
pipeline registry, so plain ``AutoModel.from_pretrained(...)``, ``AutoProcessor.from_pretrained(...)`` and
``pipeline("audio-to-blendshapes", model="avzoo/av-lipsync")`` calls work. It also seeds the Hugging Face cache
with the bundled checkpoints (:mod:`avzoo.pretrained`). :func:`register` does both; it is idempotent.

One process defers this: the ``avzoo`` command line itself (the console script, or ``python -m avzoo.cli``).
Registering needs torch and transformers (seconds to import), and ``avzoo --help`` / ``--version`` need neither,
so there :mod:`avzoo.cli` calls :func:`register` right before a command runs (see its docstring for why).
"""

import sys

__version__ = "0.1.0"

#: The module the ``avzoo`` console script and ``python -m avzoo.cli`` run.
_CLI_MODULE = "avzoo.cli"
_registered = False


def _register() -> None:
    from avzoo.families import register

    register()


def _seed_hf_cache() -> None:
    """Make the bundled checkpoints loadable as ``avzoo/<name>`` offline (see :mod:`avzoo.pretrained`)."""
    try:
        from avzoo.pretrained import seed_hf_cache_on_import

        seed_hf_cache_on_import()
    except Exception:  # a convenience: whatever goes wrong here must never break ``import avzoo``
        import logging

        logging.getLogger(__name__).debug("avzoo: seeding the Hugging Face cache failed", exc_info=True)


def register() -> None:
    """Register every family with the Auto classes and seed the HF cache: what ``import avzoo`` runs.

    Idempotent, and free after the first call in a process.
    """
    global _registered
    if not _registered:
        _register()
        _seed_hf_cache()
        _registered = True


def _python_m_module(argv: list[str]) -> str | None:
    """The module of ``python [options] -m MODULE ...`` in ``sys.orig_argv`` form; None for scripts and -c."""
    args = iter(argv[1:])
    for arg in args:
        if arg == "--check-hash-based-pycs":
            next(args, None)
        elif arg.startswith("--"):
            continue
        elif arg == "-" or not arg.startswith("-"):
            return None  # a script (``-`` reads it from stdin)
        else:
            flags = arg[1:]
            for i, flag in enumerate(flags):
                rest = flags[i + 1 :]
                if flag == "m":
                    return rest or next(args, None)
                if flag == "c":
                    return None
                if flag in "XW":  # take a value: attached (-Ximporttime) or the next argument
                    if not rest:
                        next(args, None)
                    break
    return None


def _started_as_cli() -> bool:
    """Whether this process is the ``avzoo`` command line: the console script or ``python -m avzoo.cli``."""
    argv = getattr(sys, "argv", None) or [""]
    script = argv[0].replace("\\", "/").rsplit("/", 1)[-1]
    if script in ("avzoo", "avzoo.exe", "avzoo-script.py"):  # the console script pip writes
        return True
    return _python_m_module(list(getattr(sys, "orig_argv", []))) == _CLI_MODULE


if not _started_as_cli():
    register()
