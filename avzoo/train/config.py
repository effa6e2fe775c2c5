"""``TrainConfig``: every knob of the shared training loop, loadable from YAML/JSON and ``key=value`` args.

A recipe subclasses ``TrainConfig`` to add its own fields (loss weights, model sizes); loading, CLI
overrides, type coercion and the unknown-key check work for the subclass unchanged::

    @dataclass
    class LipsyncTrainConfig(TrainConfig):
        velocity_weight: float = 0.5

    config = LipsyncTrainConfig.from_cli(["--config", "phase1.yaml", "learning_rate=3e-4", "num_epochs=20"])
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

MIXED_PRECISION = ("no", "bf16", "fp16")
LR_SCHEDULERS = (
    "linear",
    "cosine",
    "cosine_with_restarts",
    "polynomial",
    "constant",
    "constant_with_warmup",
    "inverse_sqrt",
)
_TRUE = {"true", "yes", "y", "on", "1"}
_FALSE = {"false", "no", "n", "off", "0"}
_NONE = {"none", "null", "~", ""}


@dataclass
class TrainConfig:
    """Settings of :func:`avzoo.train.train`. Batch sizes are per process; steps count optimizer updates."""

    # optimisation
    learning_rate: float = 1e-3
    weight_decay: float = 0.0  # AdamW decay on >=2-D weights; biases and norm scales are never decayed
    # differential learning rates: {glob on parameter names: factor on learning_rate}, first match wins
    # (e.g. {"*.text_encoder.*": 0.3} for a pretrained backbone); unmatched parameters get learning_rate
    lr_multipliers: dict[str, float] = field(default_factory=dict)
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_epsilon: float = 1e-8
    lr_scheduler: Literal[LR_SCHEDULERS] = "cosine"
    warmup_steps: int = 0  # learning-rate warm-up; if 0, ``warmup_ratio`` of the total steps is used
    warmup_ratio: float = 0.0
    max_grad_norm: float = 1.0  # 0 disables clipping
    gradient_accumulation_steps: int = 1

    # how long
    batch_size: int = 8
    eval_batch_size: int | None = None  # defaults to batch_size
    num_epochs: int = 1
    max_steps: int = 0  # > 0 overrides num_epochs (needed for IterableDatasets without a length)

    # data loading
    num_workers: int = 0
    group_by_length: bool = False  # length-bucketed batches (needs lengths, see length_column)
    length_column: str | None = None  # int column of lengths, or a sequence column to measure
    bucket_size: int = 50  # batches per sorting window of the bucketed sampler
    drop_last: bool = False

    # bookkeeping
    seed: int = 0
    output_dir: str = "runs/train"
    log_every: int = 10  # optimizer steps between training-loss lines (0: only at epoch ends)
    eval_every: int = 0  # optimizer steps between validations (0: only at epoch ends)
    eval_each_epoch: bool = True
    save_every: int = 0  # optimizer steps between checkpoints (0: only at epoch ends)
    save_each_epoch: bool = True
    keep_last: int = 2  # checkpoints kept in output_dir/checkpoints (0 keeps all)
    resume: str | None = None  # "auto" (latest checkpoint in output_dir, if any), a checkpoint path, or None
    metric_for_best: str | None = None  # e.g. "eval_loss": the best model goes to output_dir/best
    greater_is_better: bool = False

    # hardware and reporting
    mixed_precision: Literal[MIXED_PRECISION] = "no"
    cpu: bool = False  # force CPU even where an accelerator is present
    find_unused_parameters: bool = False  # DDP: set when some trainable params get no gradient in a step
    freeze_eval_mode: bool = True  # keep fully frozen submodules in eval mode (frozen BatchNorm stats)
    progress: bool = True  # tqdm bar on the local main process
    log_with: list[str] = field(default_factory=list)  # accelerate trackers, e.g. ["tensorboard"]

    def __post_init__(self) -> None:
        self.validate()

    # -- validation -------------------------------------------------------------------------------------
    def validate(self) -> None:
        """Range checks; subclasses extend this (call ``super().validate()``)."""
        _positive(self, "learning_rate", "batch_size", "gradient_accumulation_steps", "bucket_size")
        _non_negative(
            self,
            "weight_decay",
            "warmup_steps",
            "max_grad_norm",
            "num_epochs",
            "max_steps",
            "num_workers",
            "log_every",
            "eval_every",
            "save_every",
            "keep_last",
        )
        for pattern, factor in self.lr_multipliers.items():
            if not isinstance(pattern, str) or not isinstance(factor, (int, float)) or not factor >= 0:
                raise ValueError(
                    f"lr_multipliers maps name globs to factors >= 0, got {pattern!r}: {factor!r}"
                )
        if self.eval_batch_size is not None and self.eval_batch_size < 1:
            raise ValueError(f"eval_batch_size must be >= 1 or None, got {self.eval_batch_size}")
        for name in ("adam_beta1", "adam_beta2", "warmup_ratio"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {value}")
        if self.adam_epsilon <= 0:
            raise ValueError(f"adam_epsilon must be > 0, got {self.adam_epsilon}")
        if self.num_epochs == 0 and self.max_steps == 0:
            raise ValueError("set num_epochs >= 1 or max_steps >= 1 (both are 0)")
        if self.mixed_precision not in MIXED_PRECISION:
            raise ValueError(
                f"mixed_precision must be one of {MIXED_PRECISION}, got {self.mixed_precision!r}"
            )
        if self.lr_scheduler not in LR_SCHEDULERS:
            raise ValueError(f"lr_scheduler must be one of {LR_SCHEDULERS}, got {self.lr_scheduler!r}")
        if not self.output_dir:
            raise ValueError("output_dir must be a non-empty path")

    @property
    def per_device_eval_batch_size(self) -> int:
        return self.eval_batch_size or self.batch_size

    # -- loading ---------------------------------------------------------------------------------------
    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_dict(cls, values: typing.Mapping[str, Any]) -> TrainConfig:
        """Build from a mapping; values are coerced to the field types (strings like "3e-4" included)."""
        return cls(**_coerce_mapping(cls, values))

    @classmethod
    def from_file(cls, path: str | Path, overrides: typing.Sequence[str] = ()) -> TrainConfig:
        """Load a ``.yaml``/``.yml``/``.json`` file, then apply ``key=value`` overrides."""
        values = load_mapping(path)
        values.update(parse_overrides(cls, overrides))
        return cls.from_dict(values)

    @classmethod
    def from_cli(cls, argv: typing.Sequence[str]) -> TrainConfig:
        """Parse ``[--config FILE] [key=value ...]`` (``config=FILE`` works too); later values win."""
        values: dict[str, Any] = {}
        overrides: list[str] = []
        args = list(argv)
        if "-h" in args or "--help" in args:
            print(cls.usage())
            raise SystemExit(0)
        i = 0
        while i < len(args):
            arg = args[i]
            if arg in ("--config", "-c"):
                if i + 1 >= len(args):
                    raise ValueError(f"{arg} needs a file path after it")
                values.update(load_mapping(args[i + 1]))
                i += 2
                continue
            if arg.startswith("--config=") or arg.startswith("config="):
                values.update(load_mapping(arg.split("=", 1)[1]))
            elif arg.startswith("--") and "=" in arg:
                overrides.append(arg[2:])  # tolerate --key=value
            else:
                overrides.append(arg)
            i += 1
        values.update(parse_overrides(cls, overrides))
        return cls.from_dict(values)

    @classmethod
    def usage(cls) -> str:
        """One line per key with its type and default, for ``--help``."""
        hints = typing.get_type_hints(cls)
        lines = [f"usage: [--config FILE.yaml|.json] [key=value ...]   ({cls.__name__})"]
        for f in dataclasses.fields(cls):
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            lines.append(f"  {f.name}={default!r}  ({_type_name(hints[f.name])})")
        return "\n".join(lines)

    def with_overrides(self, overrides: typing.Sequence[str] | typing.Mapping[str, Any]) -> TrainConfig:
        """A copy with ``key=value`` strings (or a mapping) applied."""
        if isinstance(overrides, typing.Mapping):
            changes = _coerce_mapping(type(self), overrides)
        else:
            changes = _coerce_mapping(type(self), parse_overrides(type(self), overrides))
        return dataclasses.replace(self, **changes)

    # -- saving ----------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def save(self, path: str | Path) -> Path:
        """Write JSON (or YAML if the suffix says so)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix in (".yaml", ".yml"):
            import yaml

            path.write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))
        else:
            path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return path


def load_mapping(path: str | Path) -> dict[str, Any]:
    """Read a YAML or JSON file holding one mapping of config keys."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"config file not found: {path}")
    text = path.read_text()
    if path.suffix in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(text)
    elif path.suffix == ".json":
        data = json.loads(text)
    else:
        raise ValueError(f"config file must end in .yaml, .yml or .json, got {path.name}")
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(
            f"config file {path} must hold a mapping of keys to values, got {type(data).__name__}"
        )
    return dict(data)


def parse_overrides(cls: type, overrides: typing.Sequence[str]) -> dict[str, str]:
    """Split ``key=value`` strings (values stay strings; coercion happens against the field type)."""
    out: dict[str, str] = {}
    for item in overrides:
        if "=" not in item:
            raise ValueError(
                f"override {item!r} is not key=value (known keys: {', '.join(cls.field_names())})"
            )
        key, value = item.split("=", 1)
        out[key.strip()] = value
    _check_keys(cls, out)
    return out


# -- coercion ------------------------------------------------------------------------------------------------
def _check_keys(cls: type, values: typing.Mapping[str, Any]) -> None:
    known = cls.field_names()
    unknown = [k for k in values if k not in known]
    if unknown:
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, known, n=1)
            hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise ValueError(
            f"unknown {cls.__name__} key(s): {', '.join(hints)}. Known keys: {', '.join(sorted(known))}"
        )


def _coerce_mapping(cls: type, values: typing.Mapping[str, Any]) -> dict[str, Any]:
    _check_keys(cls, values)
    hints = typing.get_type_hints(cls)
    return {key: coerce(value, hints[key], key) for key, value in values.items()}


def coerce(value: Any, tp: Any, key: str = "value") -> Any:
    """Convert ``value`` (often a CLI/YAML string) to type ``tp``; ``ValueError`` names the key and type."""
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        members = get_args(tp)
        if type(None) in members and (value is None or (isinstance(value, str) and value.lower() in _NONE)):
            return None
        for member in members:
            if member is type(None):
                continue
            try:
                return coerce(value, member, key)
            except ValueError:
                continue
        raise ValueError(f"{key}: {value!r} does not fit {_type_name(tp)}")
    if origin is Literal:
        choices = get_args(tp)
        if isinstance(value, bool) and all(isinstance(c, str) for c in choices):
            # YAML 1.1 reads a bare `no`/`off` as False: map it back to the word the user wrote
            words = ("yes", "true", "on") if value else ("no", "false", "off")
            value = next((c for c in choices if c.lower() in words), value)
        for choice in choices:
            try:
                if coerce(value, type(choice), key) == choice:
                    return choice
            except ValueError:
                continue
        raise ValueError(f"{key}: {value!r} is not one of {list(choices)}")
    if origin in (list, tuple, dict) or tp in (list, tuple, dict):
        return _coerce_container(value, tp, key)
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise ValueError(f"{key}: expected a boolean (true/false/yes/no/1/0), got {value!r}")
    if tp is int:
        if isinstance(value, bool):
            raise ValueError(f"{key}: expected an integer, got {value!r}")
        if isinstance(value, int):
            return value
        try:
            number = float(value) if not isinstance(value, str) else float(value.strip().replace("_", ""))
        except (TypeError, ValueError):
            raise ValueError(f"{key}: expected an integer, got {value!r}") from None
        if not number.is_integer():
            raise ValueError(f"{key}: expected an integer, got {value!r}")
        return int(number)
    if tp is float:
        if isinstance(value, bool):
            raise ValueError(f"{key}: expected a number, got {value!r}")
        try:
            return float(value.strip()) if isinstance(value, str) else float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{key}: expected a number, got {value!r}") from None
    if tp is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise ValueError(f"{key}: expected a string, got {value!r}")
    if tp is Path:
        return Path(value)
    if isinstance(tp, type) and isinstance(value, tp):
        return value
    raise ValueError(f"{key}: cannot convert {value!r} to {_type_name(tp)}")


def _coerce_container(value: Any, tp: Any, key: str) -> Any:
    origin = get_origin(tp) or tp
    args = get_args(tp)
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in "[{(":
            import yaml

            try:
                value = yaml.safe_load(text.replace("(", "[").replace(")", "]") if text[0] == "(" else text)
            except yaml.YAMLError as err:
                raise ValueError(f"{key}: cannot parse {value!r} as {_type_name(tp)}: {err}") from None
        elif origin is dict:
            raise ValueError(f"{key}: expected a mapping like {{a: 1, b: 2}}, got {value!r}")
        else:
            value = [part.strip() for part in text.split(",") if part.strip()]  # a,b,c shorthand
    if origin is dict:
        if not isinstance(value, dict):
            raise ValueError(f"{key}: expected a mapping, got {value!r}")
        key_tp, val_tp = args or (Any, Any)
        return {coerce(k, key_tp, f"{key} key"): coerce(v, val_tp, f"{key}[{k}]") for k, v in value.items()}
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{key}: expected a list, got {value!r}")
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(coerce(v, args[0], f"{key}[{i}]") for i, v in enumerate(value))
        if args:
            if len(args) != len(value):
                raise ValueError(f"{key}: expected {len(args)} items, got {len(value)}: {value!r}")
            return tuple(
                coerce(v, t, f"{key}[{i}]") for i, (v, t) in enumerate(zip(value, args, strict=True))
            )
        return tuple(value)
    item_tp = args[0] if args else Any
    return [coerce(v, item_tp, f"{key}[{i}]") for i, v in enumerate(value)]


def _type_name(tp: Any) -> str:
    if get_origin(tp) is Literal:
        return "one of " + "|".join(str(c) for c in get_args(tp))
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _positive(config: Any, *names: str) -> None:
    for name in names:
        if getattr(config, name) <= 0:
            raise ValueError(f"{name} must be > 0, got {getattr(config, name)}")


def _non_negative(config: Any, *names: str) -> None:
    for name in names:
        if getattr(config, name) < 0:
            raise ValueError(f"{name} must be >= 0, got {getattr(config, name)}")
