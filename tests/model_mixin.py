"""A reusable test mixin every avzoo model family runs (our own small ``ModelTesterMixin``).

transformers' own ``ModelTesterMixin`` is not in the wheel, so this one checks what a Hub-ready avzoo model
must do, on a tiny config, in a few seconds.

How a family uses it, in ``tests/test_<family>_model.py``::

    import torch
    from model_mixin import ModelTesterMixin

    from avzoo.models.av_lipsync import AvLipsyncConfig, AvLipsyncModel, AvLipsyncProcessor


    class TestAvLipsyncModel(ModelTesterMixin):
        model_class = AvLipsyncModel
        config_class = AvLipsyncConfig
        output_key = "blendshapes"          # the main output field, compared in every test
        atol = 1e-5                         # optional: tolerance for batch-vs-single and reload

        def get_config(self):               # tiny: the tests build it many times
            return AvLipsyncConfig(lipsync_hidden_size=16, lipsync_dilations=[1, 2])

        def get_inputs(self, batch_size):
            g = torch.Generator().manual_seed(0)
            lengths = [14 - 3 * i for i in range(batch_size)]  # varied lengths exercise padding
            ...
            return {"input_features": features, "attention_mask": mask}

        def get_feature_extractor(self):     # optional; saved, reloaded and remote-loaded with the model
            return AvLipsyncProcessor()      # (the family's processor: features, condition, post-processing)

The class name must start with ``Test`` so pytest collects it; the mixin itself is not collected.

Hooks a family may override:

- ``register_auto_classes()``: makes ``AutoConfig``/``AutoModel`` know the classes. The default is
  ``import avzoo`` (which registers every family); the tiny test model registers itself instead.
- ``single_item_inputs(inputs, i)``: item ``i`` of a batch as a batch of one. The default slices dim 0 and,
  when the inputs carry ``attention_mask``, crops every tensor sharing the mask's time axis to the item's
  real length (right padding).
- ``batch_item_output(output, i, inputs)``: row ``i`` of the batched main output, cropped the same way when
  the output's dim 1 has the mask's length. Override when output and mask run at different rates (audio
  samples in, 30 fps frames out) or the output has no time axis to crop.
- ``remote_code_blocked``: top-level packages the remote-code subprocess must not import (default: avzoo
  and the package the model class lives in).

``run_as_remote_code(folder, workdir, blocked, inputs, preprocessor_auto)`` is the subprocess check on its
own, for tests that build a folder by hand (a processor, a second checkpoint).

Tests provided: config JSON round trip; save/load through ``AutoConfig``/``AutoModel`` (identical outputs,
no missing/unexpected keys); the same through ``trust_remote_code=True`` in a subprocess where avzoo cannot
be imported (marked slow; ``save_model_folder`` vendors what the code imports from avzoo); feature extractor
round trip; deterministic forward; batch vs single equivalence; finite fp32
outputs; ``return_dict=False`` tuple; missing weights initialised like a fresh model (``_init_weights``
through ``transformers.initialization``); parameter count (printed and recorded as a junit property).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, ClassVar

import pytest
import torch
import transformers
from safetensors.torch import load_file, save_file
from transformers import AutoConfig, AutoModel, PreTrainedConfig, PreTrainedModel
from transformers.utils import ModelOutput

from avzoo.hub import auto_class_name, save_model_folder

# Runs in a fresh interpreter: blocks the named packages before anything imports them, then loads the saved
# folder as remote code only, runs the model and writes every tensor output to safetensors.
_REMOTE_SCRIPT = textwrap.dedent(
    """
    import json
    import sys


    class _Blocker:
        def __init__(self, names):
            self.names = set(names)

        def find_spec(self, fullname, path=None, target=None):
            if fullname.split(".")[0] in self.names:
                raise ImportError(f"{fullname} is blocked: remote code must work without it")
            return None


    args = json.loads(open(sys.argv[1]).read())
    sys.meta_path.insert(0, _Blocker(args["blocked"]))

    import torch
    from safetensors.torch import load_file, save_file
    import transformers
    from transformers import AutoConfig, AutoModel

    folder = args["folder"]
    config = AutoConfig.from_pretrained(folder, trust_remote_code=True)
    model = AutoModel.from_pretrained(folder, trust_remote_code=True).eval()
    classes = {"config": type(config).__module__, "model": type(model).__module__}
    if args["preprocessor_auto"]:
        auto = getattr(transformers, args["preprocessor_auto"])
        preprocessor = auto.from_pretrained(folder, trust_remote_code=True)
        classes["preprocessor"] = type(preprocessor).__module__
        for name in getattr(preprocessor, "get_attributes", list)():
            classes[name] = type(getattr(preprocessor, name)).__module__
    inputs = {**load_file(args["inputs"]), **args["extra_inputs"]} if args["inputs"] else {}
    if inputs:
        with torch.no_grad():
            output = model(**inputs)
        save_file({k: v.contiguous() for k, v in output.items() if isinstance(v, torch.Tensor)}, args["outputs"])
    leaked = sorted(m for m in sys.modules if m.split(".")[0] in set(args["blocked"]))
    json.dump({"classes": classes, "leaked": leaked}, open(args["report"], "w"))
    """
)


def run_as_remote_code(
    folder: Path,
    workdir: Path,
    blocked: list[str],
    inputs: dict[str, Any] | None = None,
    preprocessor_auto: str | None = None,
) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Load ``folder`` with ``trust_remote_code=True`` in a fresh interpreter where ``blocked`` cannot be imported.

    Runs the model on ``inputs`` (when given) and returns its tensor outputs and the module each loaded class
    came from; fails if a blocked package was imported anyway. ``preprocessor_auto`` names the Auto class
    (``AutoFeatureExtractor``, ``AutoProcessor``...) to load the preprocessing with, if any.
    """
    inputs = inputs or {}
    tensors = {k: v.contiguous() for k, v in inputs.items() if isinstance(v, torch.Tensor)}
    if tensors:
        save_file(tensors, workdir / "inputs.safetensors")
    args = {
        "folder": str(folder),
        "inputs": str(workdir / "inputs.safetensors") if tensors else None,
        "extra_inputs": {k: v for k, v in inputs.items() if not isinstance(v, torch.Tensor)},
        "outputs": str(workdir / "outputs.safetensors"),
        "report": str(workdir / "report.json"),
        "blocked": blocked,
        "preprocessor_auto": preprocessor_auto,
    }
    (workdir / "args.json").write_text(json.dumps(args))
    (workdir / "remote_load.py").write_text(_REMOTE_SCRIPT)
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_MODULES_CACHE": str(workdir / "modules"),  # not the shared ~/.cache: tests run in parallel
    }
    done = subprocess.run(
        [sys.executable, str(workdir / "remote_load.py"), str(workdir / "args.json")],
        cwd=workdir,  # keeps the repo root off sys.path
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    report = json.loads((workdir / "report.json").read_text())
    assert report["leaked"] == [], f"remote code imported blocked packages: {report['leaked']}"
    outputs = load_file(workdir / "outputs.safetensors") if tensors else {}
    return outputs, report["classes"]


def _without_auto_map(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_auto_map(v) for k, v in value.items() if k != "auto_map"}
    return value


class ModelTesterMixin:
    """Shared model tests; see the module docstring for how to subclass."""

    model_class: ClassVar[type[PreTrainedModel]]
    config_class: ClassVar[type[PreTrainedConfig]]
    output_key: ClassVar[str]
    atol: ClassVar[float] = 1e-5
    rtol: ClassVar[float] = 1e-5
    batch_size: ClassVar[int] = 3
    seed: ClassVar[int] = 0
    #: When set, the exact parameter count of ``get_config()``'s model (guards accidental architecture drift).
    expected_num_parameters: ClassVar[int | None] = None

    # --- hooks ---------------------------------------------------------------------------------------------

    def get_config(self) -> PreTrainedConfig:
        """A tiny config (the tests build the model many times)."""
        raise TypeError(f"{type(self).__name__} must define get_config()")

    def get_inputs(self, batch_size: int) -> dict[str, Any]:
        """Model inputs for ``batch_size`` items: tensors, plus JSON-able scalars if the model takes any."""
        raise TypeError(f"{type(self).__name__} must define get_inputs(batch_size)")

    def get_feature_extractor(self) -> Any | None:
        """The feature extractor / processor saved with the model, or ``None``."""
        return None

    def register_auto_classes(self) -> None:
        import avzoo  # noqa: F401  (registration happens on import)

    @property
    def remote_code_blocked(self) -> list[str]:
        return sorted({"avzoo", self.model_class.__module__.split(".")[0]})

    def single_item_inputs(self, inputs: dict[str, Any], i: int) -> dict[str, Any]:
        mask = inputs.get("attention_mask")
        length = int(mask[i].sum()) if isinstance(mask, torch.Tensor) else None
        item = {}
        for key, value in inputs.items():
            if not isinstance(value, torch.Tensor):
                item[key] = value
                continue
            value = value[i : i + 1]
            if length is not None and value.ndim >= 2 and value.shape[1] == mask.shape[1]:
                value = value[:, :length]
            item[key] = value
        return item

    def batch_item_output(self, output: torch.Tensor, i: int, inputs: dict[str, Any]) -> torch.Tensor:
        mask = inputs.get("attention_mask")
        row = output[i : i + 1]
        if isinstance(mask, torch.Tensor) and row.ndim >= 2 and row.shape[1] == mask.shape[1]:
            row = row[:, : int(mask[i].sum())]
        return row

    # --- helpers -------------------------------------------------------------------------------------------

    def get_model(self) -> PreTrainedModel:
        torch.manual_seed(self.seed)
        return self.model_class(self.get_config()).eval()

    def forward(self, model: PreTrainedModel, inputs: dict[str, Any], **kwargs) -> Any:
        with torch.no_grad():
            return model(**inputs, **kwargs)

    def save(self, model: PreTrainedModel, folder: Path) -> Path:
        return save_model_folder(model, folder, feature_extractor=self.get_feature_extractor())

    def assert_close(self, actual: torch.Tensor, expected: torch.Tensor, what: str) -> None:
        torch.testing.assert_close(
            actual, expected, atol=self.atol, rtol=self.rtol, msg=lambda m: f"{what}: {m}"
        )

    # --- tests ---------------------------------------------------------------------------------------------

    def test_config_json_roundtrip(self, tmp_path):
        config = self.get_config()
        again = self.config_class.from_dict(json.loads(config.to_json_string()))
        assert again.to_dict() == config.to_dict()
        config.save_pretrained(tmp_path)
        self.register_auto_classes()
        loaded = AutoConfig.from_pretrained(tmp_path)
        assert type(loaded) is self.config_class
        assert loaded.to_diff_dict() == config.to_diff_dict()
        default = self.config_class()  # from_pretrained diffs against the defaults, so they must construct
        assert self.config_class.from_dict(default.to_dict()).to_dict() == default.to_dict()

    def test_save_load_auto_roundtrip(self, tmp_path):
        model = self.get_model()
        inputs = self.get_inputs(self.batch_size)
        expected = self.forward(model, inputs)[self.output_key]
        folder = self.save(model, tmp_path / "model")
        assert (folder / "model.safetensors").is_file()
        assert not any(folder.glob("*.bin")), "weights must be safetensors only"
        self.register_auto_classes()
        loaded, info = AutoModel.from_pretrained(folder, output_loading_info=True)
        assert type(loaded) is self.model_class
        assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"], info
        assert loaded.dtype == torch.float32
        assert torch.equal(self.forward(loaded.eval(), inputs)[self.output_key], expected)
        # Local registration must win over the copied code even when remote code is allowed.
        again = AutoModel.from_pretrained(folder, trust_remote_code=True)
        assert type(again) is self.model_class

    def test_feature_extractor_roundtrip(self, tmp_path):
        extractor = self.get_feature_extractor()
        if extractor is None:
            return
        folder = self.save(self.get_model(), tmp_path / "model")
        self.register_auto_classes()
        loaded = getattr(transformers, auto_class_name(extractor)).from_pretrained(folder)
        assert type(loaded) is type(extractor)
        assert _without_auto_map(loaded.to_dict()) == _without_auto_map(extractor.to_dict())

    @pytest.mark.slow
    def test_remote_code_without_avzoo(self, tmp_path):
        model = self.get_model()
        inputs = self.get_inputs(self.batch_size)
        expected = self.forward(model, inputs)
        folder = self.save(model, tmp_path / "model")
        preprocessor = self.get_feature_extractor()
        outputs, classes = run_as_remote_code(
            folder,
            tmp_path,
            self.remote_code_blocked,
            inputs,
            auto_class_name(preprocessor) if preprocessor is not None else None,
        )
        assert set(classes) >= {"config", "model"} | ({"preprocessor"} if preprocessor is not None else set())
        for part, module in classes.items():
            assert module.startswith("transformers_modules"), (
                f"{part} came from {module}, not the copied code"
            )
        self.assert_close(outputs[self.output_key], expected[self.output_key], "remote-code output")

    def test_deterministic_forward(self):
        model = self.get_model()
        inputs = self.get_inputs(self.batch_size)
        first = self.forward(model, inputs)[self.output_key]
        second = self.forward(model, inputs)[self.output_key]
        assert torch.equal(first, second)

    def test_batch_matches_single(self):
        model = self.get_model()
        inputs = self.get_inputs(self.batch_size)
        batched = self.forward(model, inputs)[self.output_key]
        assert batched.shape[0] == self.batch_size
        for i in range(self.batch_size):
            alone = self.forward(model, self.single_item_inputs(inputs, i))[self.output_key]
            self.assert_close(
                self.batch_item_output(batched, i, inputs), alone, f"item {i} alone vs in batch"
            )

    def test_outputs_finite_fp32(self):
        output = self.forward(self.get_model(), self.get_inputs(self.batch_size))
        assert isinstance(output, ModelOutput)
        assert isinstance(output.get(self.output_key), torch.Tensor), f"no tensor output {self.output_key!r}"
        for name, value in output.items():
            if isinstance(value, torch.Tensor) and value.is_floating_point():
                assert value.dtype == torch.float32, f"{name} is {value.dtype}"
                assert torch.isfinite(value).all(), f"{name} has non-finite values"

    def test_return_dict_false_gives_tuple(self):
        model = self.get_model()
        inputs = self.get_inputs(self.batch_size)
        as_dict = self.forward(model, inputs)
        as_tuple = self.forward(model, inputs, return_dict=False)
        # Without @can_return_tuple on forward, transformers v5 silently returns the dataclass here.
        assert type(as_tuple) is tuple, (
            f"return_dict=False gave {type(as_tuple).__name__}; add @can_return_tuple"
        )
        fields = as_dict.to_tuple()
        assert len(as_tuple) == len(fields)
        assert torch.equal(as_tuple[0], as_dict[0])
        for got, want in zip(as_tuple, fields, strict=True):
            if isinstance(want, torch.Tensor):
                assert torch.equal(got, want)

    def test_missing_weights_initialised(self, tmp_path):
        """Every parameter is covered by ``_init_weights``, so weights missing from a checkpoint get a real init.

        Loading builds on the meta device and fills only missing weights through ``_init_weights``; a module it
        does not cover (nn.GRU, a custom ``nn.Parameter``) keeps uninitialised memory, garbage or zeros, while a
        freshly built model looks fine. Filling every parameter with NaN and re-running the init finds those
        deterministically.
        """
        model = self.get_model()
        with torch.no_grad():
            for module in model.modules():
                module.__dict__.pop("_is_hf_initialized", None)
            for param in model.parameters():
                param.__dict__.pop("_is_hf_initialized", None)
                param.fill_(float("nan"))
        model.initialize_weights()
        uncovered = [name for name, param in model.named_parameters() if not torch.isfinite(param).all()]
        assert not uncovered, (
            f"{uncovered} not initialised by _init_weights: cover them with transformers.initialization helpers"
        )

        folder = self.save(self.get_model(), tmp_path / "model")
        state = load_file(folder / "model.safetensors")
        kept = sorted(state)[0]
        save_file({kept: state[kept]}, folder / "model.safetensors", metadata={"format": "pt"})
        self.register_auto_classes()
        loaded, info = AutoModel.from_pretrained(folder, output_loading_info=True)
        assert info["missing_keys"] == set(state) - {kept}
        for name, param in loaded.named_parameters():
            assert torch.isfinite(param).all(), f"{name} loaded with non-finite values"

    def test_parameter_count(self, record_property):
        model = self.get_model()
        count = model.num_parameters()
        assert count == sum(p.numel() for p in model.parameters()) > 0
        record_property("num_parameters", count)
        print(f"{self.model_class.__name__} (test config): {count} parameters")
        if self.expected_num_parameters is not None:
            assert count == self.expected_num_parameters
