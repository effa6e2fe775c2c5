"""``avzoo release <family>``: from a trained model folder to the bundled checkpoint, its evaluation and its card.

Formerly ``scripts/release_av_lipsync.py``; now one driver for every family of :mod:`avzoo.families`, with the
family-specific parts in its hook module (``Family.release``, e.g. :mod:`avzoo.release.av_lipsync`):

1. load: ``AutoModel`` + ``AutoProcessor`` from ``model_dir`` (safetensors only, float32);
2. calibrate: hook ``calibrate(model, processor, corpus) -> dict`` sets calibrated settings on the processor and
   the model config and returns a JSON-able report, written to ``benchmarks/results/<family>_calibration.json``;
3. bundle: ``model.save_pretrained`` + ``processor.save_pretrained`` into the family's checkpoint folder, emptied
   first: config, safetensors and processor config, no code (a Hub push adds the remote code,
   ``avzoo.hub.save_model_folder``);
4. evaluate: hook ``evaluate(bundle_dir, corpus) -> Path`` writes the bundle's ``eval_results.json``; the driver
   names the Hub id as its ``model``;
5. benchmark (if the hook has one): ``benchmark(bundle_dir, results_dir) -> Path``;
6. card: ``templates/<family>.md`` (jinja, rendered by :func:`avzoo.hub.render_model_card` with the evaluation JSON,
   which gives the ``model-index`` metadata) filled with hook ``card_variables(bundle_dir, results_dir,
   train_dirs) -> dict``; written to ``model_cards/<family>.md`` and the bundle's README.md.

``card_only=True`` skips 1-5 and re-renders the card from the JSON files in place. The results and card folders
are a source checkout's (``benchmarks/results/``, ``model_cards/``): releasing is a maintainer's job.
"""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from avzoo.families import Family, get_family

REPO = Path(__file__).resolve().parents[2]
RESULTS_DIR = REPO / "benchmarks" / "results"
CARDS_DIR = REPO / "model_cards"
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
#: Files a bundle must not hold: it is loaded with avzoo installed; remote code is for the Hub copy only.
CODE_SUFFIXES = (".py",)


def read_json(path: str | Path, family_id: str) -> Any:
    """A JSON file a card quotes; ``ValueError`` saying how to make it when it is missing."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(
            f"{path} not found; the card quotes it (run `avzoo release {family_id}` without card_only)"
        )
    return json.loads(path.read_text(encoding="utf-8"))


def checkout_script(script: str | Path, what: str = "the benchmark") -> Path:
    """``script`` (a benchmark of a source checkout), or ``ValueError`` when this is an installed avzoo."""
    script = Path(script)
    if not script.is_file():
        raise ValueError(f"{script} not found: {what} runs from a source checkout of avzoo")
    return script


def run_script(script: Path, args: Sequence[str]) -> None:
    """Run a checkout's script with this Python, from the checkout's root, echoing the command."""
    cmd = [sys.executable, str(script), *map(str, args)]
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, cwd=Path(script).parents[1])


def _family(family: str | Family) -> Family:
    return family if isinstance(family, Family) else get_family(family)


def hooks(family: str | Family) -> ModuleType:
    """The family's release hook module (``Family.release``)."""
    family = _family(family)
    if not family.release:
        raise ValueError(f"model family {family.id!r} has no release hooks yet (Family.release is None)")
    return importlib.import_module(family.release)


def card_template(family: str | Family) -> Path:
    """The family's card template, ``avzoo/release/templates/<family>.md``."""
    path = TEMPLATES_DIR / f"{_family(family).id}.md"
    if not path.is_file():
        raise ValueError(f"no card template for {_family(family).id!r}: write {path}")
    return path


def load(model_dir: str | Path) -> tuple[Any, Any]:
    """``(AutoModel, AutoProcessor)`` from a trained model folder, safetensors only, float32, eval mode."""
    from avzoo.pretrained import load as load_folder

    return load_folder(model_dir)


def write_bundle(family: str | Family, model: Any, processor: Any) -> Path:
    """Empty the family's checkpoint folder and save config, safetensors weights and processor config into it."""
    folder = _family(family).checkpoint
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for obj in (
        model.config,
        processor,
    ):  # no remote-code pointers: the bundle is loaded with avzoo installed
        for attr in ("auto_map", "custom_pipelines"):
            if attr in getattr(obj, "__dict__", {}):
                delattr(obj, attr)
    model.save_pretrained(folder)  # safetensors (transformers v5 writes nothing else)
    processor.save_pretrained(folder)
    code = [p.name for p in folder.rglob("*") if p.suffix in CODE_SUFFIXES]
    if code:
        raise RuntimeError(f"the bundle {folder} must hold no code, got {code}")
    return folder


def _name_model(eval_json: Path, hub_id: str) -> None:
    """Set ``model`` of every result in ``eval_json`` to ``hub_id`` (the card's and model-index's name)."""
    data = json.loads(eval_json.read_text())
    for result in data if isinstance(data, list) else [data]:
        result["model"] = hub_id
    eval_json.write_text(json.dumps(data, indent=2) + "\n")


def render_card(
    family: str | Family, train_dirs: Sequence[str | Path] = (), *, results_dir: Path = RESULTS_DIR
) -> str:
    """The card of the family's bundle: its template, the hook's ``card_variables`` and ``eval_results.json``."""
    from avzoo.hub import render_model_card

    family = _family(family)
    bundle = family.checkpoint
    variables = {"model_id": family.hub_id, **hooks(family).card_variables(bundle, results_dir, train_dirs)}
    card = render_model_card(variables, bundle / "eval_results.json", template_path=card_template(family))
    return str(card)


def release(
    family_id: str | Family,
    model_dir: str | Path | None = None,
    corpus: str | Path | None = None,
    train_dirs: Sequence[str | Path] = (),
    card_only: bool = False,
    *,
    results_dir: str | Path = RESULTS_DIR,
    cards_dir: str | Path = CARDS_DIR,
    hook_options: dict[str, str] | None = None,
) -> Path:
    """Release ``family_id`` (see the module docstring); returns the written card, ``<cards_dir>/<family>.md``."""
    family = _family(family_id)
    hook = hooks(family)
    results_dir, cards_dir = Path(results_dir), Path(cards_dir)
    if not results_dir.parent.is_dir():
        raise ValueError(
            f"{results_dir.parent} not found: avzoo release runs in a source checkout of avzoo (it writes "
            "benchmarks/results/ and model_cards/)"
        )
    if not card_only:
        if model_dir is None or corpus is None:
            raise ValueError("release needs model_dir and corpus (or card_only=True to re-render the card)")
        if not train_dirs:
            print("no train_dirs given: the card describes the training runs the previous release recorded")
        model, processor = load(model_dir)
        report = hook.calibrate(model, processor, corpus)
        results_dir.mkdir(parents=True, exist_ok=True)
        out = results_dir / f"{family.id.replace('-', '_')}_calibration.json"
        out.write_text(json.dumps(report, indent=2) + "\n")
        bundle = write_bundle(family, model, processor)
        # Family-specific inputs of the evaluation (koemorph: its mel-only ablation model) come as hook options.
        _name_model(Path(hook.evaluate(bundle, corpus, **(hook_options or {}))), family.hub_id)
        if hasattr(hook, "benchmark"):
            hook.benchmark(bundle, results_dir)
    card = render_card(family, train_dirs, results_dir=results_dir)
    cards_dir.mkdir(parents=True, exist_ok=True)
    path = cards_dir / f"{family.id}.md"
    path.write_text(card, encoding="utf-8")
    (family.checkpoint / "README.md").write_text(card, encoding="utf-8")
    print(f"wrote {path} and {family.checkpoint / 'README.md'}")
    return path


def main(family_id: str, argv: Sequence[str] | None = None) -> int:
    """``avzoo release <family> --model DIR --corpus DIR [--train-dir DIR ...] [--card-only]``."""
    import argparse

    parser = argparse.ArgumentParser(prog=f"avzoo release {family_id}", description=release.__doc__)
    parser.add_argument("--model", type=Path, help="the trained model folder (e.g. runs/p2/final)")
    parser.add_argument("--corpus", type=Path, help="corpus folder: validation calibrates, test is scored")
    parser.add_argument("--train-dir", type=Path, action="append", default=[], help="training output folders")
    parser.add_argument(
        "--card-only", action="store_true", help="only re-render the card from the JSON files"
    )
    parser.add_argument(
        "--hook-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="passed to the family's evaluate hook (koemorph: ablation=runs/koemorph/mel-only/best)",
    )
    args = parser.parse_args(argv)
    options = {}
    for item in args.hook_option:
        key, sep, value = item.partition("=")
        if not sep or not key:
            parser.error(f"--hook-option must be KEY=VALUE, got {item!r}")
        options[key] = value
    if not args.card_only:
        if args.model is None or args.corpus is None:
            parser.error("--model and --corpus are needed unless --card-only")
        for name, folder in (("--model", args.model), ("--corpus", args.corpus)):
            if not folder.is_dir():
                parser.error(f"{name} {folder} is not a folder")
    try:
        release(family_id, args.model, args.corpus, args.train_dir, args.card_only, hook_options=options)
    except ValueError as err:
        parser.error(str(err))
    return 0


__all__ = [
    "card_template",
    "checkout_script",
    "hooks",
    "load",
    "main",
    "read_json",
    "release",
    "render_card",
    "run_script",
    "write_bundle",
]
