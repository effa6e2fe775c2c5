"""The one registration of every model family: what ties a model folder, its recipe, evaluation, export,
release, pipeline task and app tab together.

Everything here is data (module paths as strings), so importing this module costs nothing and imports
nothing from avzoo: ``import avzoo`` registers the Auto classes and pipeline tasks from it, the CLI builds
``avzoo train|evaluate|export|release <family>`` from it, and the zoo app builds its tabs from it.

Contracts, by field (a family sets what it has; None means "not built yet"):

* ``models``: a model-folder package whose ``register()`` registers its config, model and processor with the
  transformers Auto classes (``AutoConfig``, ``AutoModel``, ``AutoFeatureExtractor``/``AutoProcessor``).
* ``pipeline``: ``(task, "module:Class")`` registered with transformers' ``PIPELINE_REGISTRY`` for ``AutoModel``.
* ``recipe``: a module with ``main(argv: list[str])`` (key=value overrides, an Accelerate script).
* ``evaluation``: a module with ``main(argv: list[str]) -> int`` (argparse) that writes the evaluation JSON.
* ``export``: a module with ``main(argv: list[str]) -> int`` (argparse) for deployable exports.

The CLI groups ``avzoo train|evaluate|export|release`` are built from these entries (:func:`command_group`).
* ``release``: a module with the hooks :mod:`avzoo.release` calls (``calibrate``, ``evaluate``,
  ``card_variables`` and optionally ``benchmark``), and a card template ``avzoo/release/templates/<id>.md``.
* ``ui``: ``"module:builder"``: calling the builder returns a ``gr.Blocks`` (the zoo's tab, the Space's app).

See ``docs/adding-a-family.md`` for the steps of adding one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: The Hub organisation of the published checkpoints.
HUB_ORG = "avzoo"
#: Where the bundled checkpoints live inside the package.
PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained"


@dataclass(frozen=True)
class Family:
    """One model family; see the module docstring for each field's contract."""

    id: str
    title: str
    description: str
    io: str
    space: str
    ui: str
    models: str | None = None
    pipeline: tuple[str, str] | None = None
    recipe: str | None = None
    evaluation: str | None = None
    export: str | None = None
    release: str | None = None
    checkpoint_dir: Path | None = None

    @property
    def hub_id(self) -> str:
        return f"{HUB_ORG}/{self.id}"

    @property
    def checkpoint(self) -> Path:
        """The bundled checkpoint folder (``avzoo/pretrained/<id>`` unless overridden)."""
        return self.checkpoint_dir if self.checkpoint_dir is not None else PRETRAINED_DIR / self.id


FAMILIES: tuple[Family, ...] = (
    Family(
        id="av-lipsync",
        title="AV Lipsync",
        description=(
            "Speech to 52 ARKit blendshapes at 30 fps, with a lipsync branch, an expression branch, "
            "a mouth filter and streaming ONNX export."
        ),
        io="16 kHz speech (+ optional emotion) → (T, 52) blendshapes",
        space="blendshape-animation",
        ui="avzoo.apps.blendshape_animation:build_ui",
        models="avzoo.models.av_lipsync",
        pipeline=("audio-to-blendshapes", "avzoo.pipelines.audio_to_blendshapes:AudioToBlendshapesPipeline"),
        recipe="avzoo.train.av_lipsync",
        evaluation="avzoo.evaluation.av_lipsync",
        export="avzoo.export.onnx_av_lipsync",
        release="avzoo.release.av_lipsync",
    ),
    Family(
        id="koemorph",
        title="KoeMorph",
        description=(
            "Speech to 52 ARKit blendshapes from two streams: log-mel for the mouth, "
            "eGeMAPS prosody for the expression."
        ),
        io="16 kHz speech → (T, 52) blendshapes",
        space="blendshape-animation",
        ui="avzoo.apps.blendshape_animation:build_ui",
        models="avzoo.models.koemorph",
        pipeline=("audio-to-blendshapes", "avzoo.pipelines.audio_to_blendshapes:AudioToBlendshapesPipeline"),
        recipe="avzoo.train.koemorph",
        evaluation="avzoo.evaluation.koemorph",
        release="avzoo.release.koemorph",
    ),
    Family(
        id="av-fer",
        title="AV-FER",
        description=(
            "Audio-visual emotion recognition over a talking-face clip: 8 RAVDESS emotions "
            "per clip and per segment."
        ),
        io="face video + audio → 8 emotions",
        space="fer",
        ui="avzoo.apps.fer:build_ui",
    ),
    Family(
        id="av-separator",
        title="AV Separator",
        description="Separates 2–6 talkers from one mixture, steered by a face track per talker.",
        io="mixture + face tracks → one waveform per talker",
        space="speech-separation",
        ui="avzoo.apps.speech_separation:build_ui",
    ),
    Family(
        id="text-audio-emotion",
        title="Text-Audio Emotion",
        description=(
            "Emotion from what is said and how it is said (7 classes), with bidirectional "
            "cross-modal attention maps."
        ),
        io="text + audio → 7 emotions + attention maps",
        space="attention-maps",
        ui="avzoo.apps.attention_maps:build_ui",
        models="avzoo.models.text_audio_emotion",
        pipeline=(
            "text-audio-emotion-classification",
            "avzoo.pipelines.text_audio_emotion:TextAudioEmotionPipeline",
        ),
        recipe="avzoo.train.text_audio_emotion",
        evaluation="avzoo.evaluation.text_audio_emotion",
        release="avzoo.release.text_audio_emotion",
    ),
    Family(
        id="text-vad",
        title="Text VAD",
        description=(
            "A sentence to valence, arousal, dominance and one of 8 emotions: a tiny ALBERT distilled from a "
            "MiniLM teacher; drives av-lipsync's expression from the script it speaks."
        ),
        io="English text → valence/arousal/dominance + 8 emotions",
        space="blendshape-animation",
        ui="avzoo.apps.blendshape_animation:build_ui",
        models="avzoo.models.text_vad",
        pipeline=("text-to-vad", "avzoo.pipelines.text_to_vad:TextToVadPipeline"),
        recipe="avzoo.train.text_vad",
        evaluation="avzoo.evaluation.text_vad",
        release="avzoo.release.text_vad",
    ),
)


def get_family(family_id: str, families: tuple[Family, ...] | None = None) -> Family:
    """The family with this id; ``ValueError`` listing the known ids otherwise."""
    families = FAMILIES if families is None else tuple(families)
    for family in families:
        if family.id == family_id:
            return family
    known = ", ".join(f.id for f in families)
    raise ValueError(f"unknown model family {family_id!r}; known families: {known}")


def with_part(part: str) -> tuple[Family, ...]:
    """Families that have ``part`` (``"models"``, ``"recipe"``, ``"evaluation"``, ``"export"``, ``"release"``)."""
    return tuple(f for f in FAMILIES if getattr(f, part))


def register() -> None:
    """Register every built family with the transformers Auto classes and pipeline registry (idempotent)."""
    import importlib

    from transformers import AutoModel
    from transformers.pipelines import PIPELINE_REGISTRY

    for family in with_part("models"):
        importlib.import_module(family.models).register()
        if family.pipeline is not None:
            task, spec = family.pipeline
            module, _, name = spec.partition(":")
            pipeline_class = getattr(importlib.import_module(module), name)
            if PIPELINE_REGISTRY.supported_tasks.get(task, {}).get("impl") is not pipeline_class:
                PIPELINE_REGISTRY.register_pipeline(task, pipeline_class=pipeline_class, pt_model=AutoModel)


def command_group(part: str, help: str, driver: str | None = None):
    """The ``avzoo <group>`` typer app for ``part``: one command per family that has it.

    ``avzoo <group> <family> ARGS`` runs ``main(ARGS)`` of the family's ``part`` module (``--help`` included:
    the module's own parser answers), or, with ``driver`` (``"module:function"``), ``function(family_id, ARGS)``.
    Nothing is imported until a command runs, so ``avzoo <group> --help`` stays fast.
    """
    import importlib

    import typer

    app = typer.Typer(help=help, no_args_is_help=True)
    settings = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}

    def runner(family_id: str, target: str):
        def run(ctx: typer.Context) -> None:
            module_name, _, name = target.partition(":")
            function = getattr(importlib.import_module(module_name), name)
            code = function(family_id, list(ctx.args)) if driver else function(list(ctx.args))
            raise typer.Exit(code if isinstance(code, int) else 0)

        run.__annotations__ = {"ctx": typer.Context, "return": None}  # typer resolves them; typer is local
        return run

    for family in with_part(part):
        run = runner(family.id, driver or f"{getattr(family, part)}:main")
        app.command(
            family.id,
            context_settings=settings,
            help=f"{family.title}: {family.io}. `{family.id} --help` lists its options.",
        )(run)
    return app


__all__ = [
    "FAMILIES",
    "HUB_ORG",
    "PRETRAINED_DIR",
    "Family",
    "command_group",
    "get_family",
    "register",
    "with_part",
]
