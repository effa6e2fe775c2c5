"""av-lipsync model: normalised log-mel (B, T, 80) at 30 fps + an emotion condition (B, T, C) → (B, T, 52) blendshapes.

Two causal branches, each a stack of residual blocks (LayerNorm → causal dilated conv → GELU → linear, no batch
statistics anywhere, so a frozen branch computes exactly the same thing in train and eval mode):

* **lipsync**: log-mel → the speech channels (jaw, lips, tongue + the shared mouth corners);
* **expression**: the condition + prosody of the log-mel (loudness, spectral spread, four band levels) + a
  *detached* view of the lipsync hidden state → the expression channels (eyes, brows, cheeks, nose) and additive
  deltas, in logit space, on the shared channels (zero-initialised: a new expression branch changes nothing).

Look-ahead: the input is padded with ``L = lookahead_frames`` zero frames on the right and both stacks run causally;
output frame ``t`` is the stacks' output at position ``t + L``, so it sees input frames ``<= t + L`` and nothing
later. The condition of frame ``t`` enters at position ``t + L`` (it is delayed by ``L``), so a change of condition
at frame ``t`` acts from output frame ``t`` on. Streaming (:meth:`AvLipsyncModel.init_stream`,
:meth:`AvLipsyncModel.stream_step`) carries each causal conv's last inputs and the condition queue, and outputs
frame ``t`` once feature frame ``t + L`` has arrived; ``final=True`` feeds the ``L`` closing zero frames, so the
concatenated stream equals ``forward(mode="streaming")``.

Offline quality mode (``config.offline_dilations``): a non-causal refiner corrects the lipsync logits from the
whole utterance's lipsync state (see :class:`AvLipsyncOfflineRefiner`); the streamer never runs it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.utils import ModelOutput
from transformers.utils.generic import can_return_tuple

from .configuration_av_lipsync import AvLipsyncConfig
from .loss_av_lipsync import AvLipsyncLossWeights, av_lipsync_loss

#: What ``forward(mode=...)`` accepts.
MODES = ("offline", "streaming")

#: Prosody features per frame computed from the log-mel: mean, standard deviation, four band means.
NUM_PROSODY = 6


# --- building blocks -----------------------------------------------------------------------------------------------


class CausalConv1d(nn.Conv1d):
    """``nn.Conv1d`` over (B, C, T) padded on the left only: output ``t`` sees inputs ``<= t``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, dilation: int = 1):
        super().__init__(in_channels, out_channels, kernel_size, dilation=dilation)

    @property
    def context(self) -> int:
        """Past inputs a step needs: ``(kernel_size - 1) * dilation``."""
        return (self.kernel_size[0] - 1) * self.dilation[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(nn.functional.pad(x, (self.context, 0)))

    def step(self, x: torch.Tensor, cache: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x`` (B, C, n) new inputs, ``cache`` (B, C, context) the previous ones → (output (B, C', n), new cache)."""
        full = torch.cat([cache, x], dim=2)
        # Negative static slices keep the exported ONNX step free of shape arithmetic.
        return super().forward(full), (full[:, :, -self.context :] if self.context else cache)


class AvLipsyncBlock(nn.Module):
    """Pre-norm residual block: ``x + dropout(linear(gelu(causal_conv(layer_norm(x)))))`` over (B, T, H)."""

    def __init__(self, hidden_size: int, kernel_size: int, dilation: int, dropout: float):
        super().__init__()
        self.norm = nn.LayerNorm(hidden_size)
        self.conv = CausalConv1d(hidden_size, hidden_size, kernel_size, dilation)
        self.act = nn.GELU()
        self.proj = nn.Linear(hidden_size, hidden_size)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv(self.norm(x).transpose(1, 2)).transpose(1, 2)
        return x + self.dropout(self.proj(self.act(h)))

    def step(self, x: torch.Tensor, cache: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h, cache = self.conv.step(self.norm(x).transpose(1, 2), cache)
        return x + self.dropout(self.proj(self.act(h.transpose(1, 2)))), cache


class AvLipsyncStack(nn.Module):
    """Linear input projection, causal residual blocks, final LayerNorm: (B, T, in) → (B, T, hidden)."""

    def __init__(
        self, in_size: int, hidden_size: int, kernel_size: int, dilations: list[int], dropout: float
    ):
        super().__init__()
        self.input = nn.Linear(in_size, hidden_size)
        self.blocks = nn.ModuleList(AvLipsyncBlock(hidden_size, kernel_size, d, dropout) for d in dilations)
        self.norm = nn.LayerNorm(hidden_size)

    @property
    def receptive_field(self) -> int:
        """Input frames one output frame depends on (itself included)."""
        return 1 + sum(block.conv.context for block in self.blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.input(x)
        for block in self.blocks:
            h = block(h)
        return self.norm(h)

    def init_cache(self, batch_size: int, dtype: torch.dtype, device: torch.device) -> list[torch.Tensor]:
        return [
            torch.zeros(batch_size, block.conv.in_channels, block.conv.context, dtype=dtype, device=device)
            for block in self.blocks
        ]

    def step(self, x: torch.Tensor, caches: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        h = self.input(x)
        new = []
        for block, cache in zip(self.blocks, caches, strict=True):
            h, cache = block.step(h, cache)
            new.append(cache)
        return self.norm(h), new


class AvLipsyncOfflineBlock(nn.Module):
    """Pre-norm residual block over a whole utterance: like :class:`AvLipsyncBlock` with a centred conv."""

    def __init__(self, hidden_size: int, kernel_size: int, dilation: int, dropout: float):
        super().__init__()
        self.norm = nn.LayerNorm(hidden_size)
        self.conv = nn.Conv1d(
            hidden_size,
            hidden_size,
            kernel_size,
            dilation=dilation,
            padding=dilation * (kernel_size - 1) // 2,
        )
        self.act = nn.GELU()
        self.proj = nn.Linear(hidden_size, hidden_size)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # Right padding reads as the zeros past a lone utterance's end, so batching cannot change a clip's output.
        h = self.conv((self.norm(x) * mask).transpose(1, 2)).transpose(1, 2)
        return x + self.dropout(self.proj(self.act(h)))


class AvLipsyncOfflineRefiner(nn.Module):
    """Offline quality mode: (lipsync hidden, lipsync logits) of the whole utterance → corrected logits.

    It sees ``(kernel - 1) / 2 * sum(offline_dilations)`` frames past the streaming look-ahead, which the labels'
    anticipatory coarticulation needs. The head starts at zero, so a fresh refiner returns the streaming logits.
    """

    def __init__(self, config: AvLipsyncConfig):
        super().__init__()
        logits = len(config.lipsync_channels) + int(config.lip_seal)
        size = config.offline_hidden_size
        self.input = nn.Linear(config.lipsync_hidden_size + logits, size)
        self.blocks = nn.ModuleList(
            AvLipsyncOfflineBlock(size, config.offline_kernel_size, d, config.dropout)
            for d in config.offline_dilations
        )
        self.norm = nn.LayerNorm(size)
        self.head = nn.Linear(size, logits)
        self.head._init_role = "zero"

    def forward(self, hidden: torch.Tensor, logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.input(torch.cat([hidden, logits], dim=-1))
        for block in self.blocks:
            h = block(h, mask)
        return logits + self.head(self.norm(h))


class AvLipsyncLipsyncBranch(nn.Module):
    """Log-mel → hidden state and logits of the lipsync channels."""

    def __init__(self, config: AvLipsyncConfig):
        super().__init__()
        self.stack = AvLipsyncStack(
            config.n_mels,
            config.lipsync_hidden_size,
            config.lipsync_kernel_size,
            config.lipsync_dilations,
            config.dropout,
        )
        # With ``lip_seal`` the last output is the lip-seal logit.
        self.head = nn.Linear(config.lipsync_hidden_size, len(config.lipsync_channels) + int(config.lip_seal))
        self.head._init_role = "head"
        if config.phone_labels_vocab:
            self.phone_head = nn.Linear(config.lipsync_hidden_size, len(config.phone_labels_vocab))


class AvLipsyncExpressionBranch(nn.Module):
    """Condition + prosody + detached lipsync hidden state → expression logits and shared-channel deltas."""

    def __init__(self, config: AvLipsyncConfig):
        super().__init__()
        in_size = config.condition_dim + NUM_PROSODY + config.lipsync_hidden_size
        self.stack = AvLipsyncStack(
            in_size,
            config.expression_hidden_size,
            config.expression_kernel_size,
            config.expression_dilations,
            config.dropout,
        )
        self.head = nn.Linear(config.expression_hidden_size, len(config.expression_channels))
        self.head._init_role = "head"
        self.shared_delta = nn.Linear(config.expression_hidden_size, len(config.shared_channels))
        self.shared_delta._init_role = (
            "zero"  # a fresh expression branch leaves the shared channels as they were
        )


def prosody(features: torch.Tensor) -> torch.Tensor:
    """(B, T, n_mels) log-mel → (B, T, 6): mean, standard deviation, and the means of four equal mel bands."""
    bands = [band.mean(dim=-1, keepdim=True) for band in features.chunk(4, dim=-1)]
    mean = features.mean(dim=-1, keepdim=True)
    std = (features - mean).square().mean(dim=-1, keepdim=True).add(1e-6).sqrt()
    return torch.cat([mean, std, *bands], dim=-1)


# --- outputs and state ---------------------------------------------------------------------------------------------


@dataclass
class AvLipsyncOutput(ModelOutput):
    """Outputs of :class:`AvLipsyncModel`.

    blendshapes: (B, T, 52) in [0, 1], canonical order: both branches.
    lipsync_blendshapes: (B, T, 52): the lipsync branch alone (expression channels 0 = rest).
    lipsync_hidden_state, expression_hidden_state: (B, T, H) per-frame hidden states of the two stacks.
    lip_seal, seal_logits: (B, T) probability (and logit) that the lips are sealed (``config.lip_seal``; else None).
    phone_logits: (B, T, V) logits of the frame's phone over ``config.phone_labels_vocab`` (when it is set).
    """

    blendshapes: torch.FloatTensor | None = None
    lipsync_blendshapes: torch.FloatTensor | None = None
    lipsync_hidden_state: torch.FloatTensor | None = None
    expression_hidden_state: torch.FloatTensor | None = None
    lip_seal: torch.FloatTensor | None = None
    seal_logits: torch.FloatTensor | None = None
    phone_logits: torch.FloatTensor | None = None


@dataclass
class AvLipsyncRegressionOutput(ModelOutput):
    """Outputs of :class:`AvLipsyncForBlendshapeRegression`: ``loss`` (with ``labels``) and the base outputs."""

    loss: torch.FloatTensor | None = None
    blendshapes: torch.FloatTensor | None = None
    lipsync_blendshapes: torch.FloatTensor | None = None
    lipsync_hidden_state: torch.FloatTensor | None = None
    expression_hidden_state: torch.FloatTensor | None = None
    lip_seal: torch.FloatTensor | None = None
    seal_logits: torch.FloatTensor | None = None
    phone_logits: torch.FloatTensor | None = None


@dataclass
class AvLipsyncStreamState:
    """What :meth:`AvLipsyncModel.stream_step` carries between calls (treat as opaque)."""

    lipsync_caches: list[torch.Tensor]
    expression_caches: list[torch.Tensor]
    condition_queue: torch.Tensor  # (B, L, C): the conditions of the last L frames, not yet used
    frames_in: int = 0  # feature frames received
    frames_out: int = 0  # blendshape frames emitted
    finished: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def batch_size(self) -> int:
        return self.condition_queue.shape[0]


# --- the model -----------------------------------------------------------------------------------------------------


class AvLipsyncPreTrainedModel(PreTrainedModel):
    config_class = AvLipsyncConfig
    base_model_prefix = "av_lipsync"
    main_input_name = "input_features"
    _no_split_modules: ClassVar[list[str]] = []

    def _init_weights(self, module: nn.Module) -> None:
        # Loading builds on the meta device and initialises only missing weights through here, so every case
        # uses transformers.initialization (plain torch.nn.init calls would be skipped or wrong).
        if isinstance(module, (nn.Linear, nn.Conv1d)):
            role = getattr(module, "_init_role", None)
            if role == "zero":
                init.zeros_(module.weight)
            elif role == "head":  # small weights, logits at head_bias_init: an untrained model sits near rest
                init.normal_(module.weight, mean=0.0, std=self.config.initializer_range)
            else:
                init.xavier_uniform_(module.weight)
            if module.bias is not None:
                if role == "head":
                    init.constant_(module.bias, self.config.head_bias_init)
                else:
                    init.zeros_(module.bias)
        elif isinstance(module, nn.LayerNorm):
            init.ones_(module.weight)
            init.zeros_(module.bias)


class AvLipsyncModel(AvLipsyncPreTrainedModel):
    """Speech (+ emotion condition) → 52 ARKit blendshapes; see the module docstring."""

    def __init__(self, config: AvLipsyncConfig):
        super().__init__(config)
        self.lipsync = AvLipsyncLipsyncBranch(config)
        self.expression = AvLipsyncExpressionBranch(config)
        self.offline = AvLipsyncOfflineRefiner(config) if config.has_offline_mode else None
        index = {n: i for i, n in enumerate(config.blendshape_names)}
        lip = [index[n] for n in config.lipsync_channels]
        expr = [index[n] for n in config.expression_channels]
        # Gathering from [lipsync probs, expression probs, 0] puts every channel at its canonical place; channels
        # neither branch predicts stay at 0 (rest).
        source = {c: i for i, c in enumerate(lip + expr)}
        self._gather = [source.get(c, len(lip) + len(expr)) for c in range(len(config.blendshape_names))]
        self._gather_lipsync_only = [
            source[c] if c in lip else len(lip) + len(expr) for c in range(len(config.blendshape_names))
        ]
        self._shared_in_lipsync = [config.lipsync_channels.index(n) for n in config.shared_channels]
        if config.lip_seal:
            self._seal_jaw = config.lipsync_channels.index("jawOpen")
            self._seal_close = config.lipsync_channels.index("mouthClose")
        self._lipsync_frozen = False
        self.post_init()

    # --- phase-2 training ----------------------------------------------------------------------------------------

    @property
    def lipsync_frozen(self) -> bool:
        return self._lipsync_frozen

    def freeze_lipsync(self, freeze: bool = True) -> None:
        """Freeze (or unfreeze) the lipsync branch: no gradients, always in eval mode (dropout off).

        Its outputs then stay bit-identical while the expression branch trains (phase 2 of the recipe).
        """
        self._lipsync_frozen = bool(freeze)
        for param in self.lipsync.parameters():
            param.requires_grad_(not freeze)
        if freeze:
            self.lipsync.eval()
        else:
            self.lipsync.train(self.training)

    def train(self, mode: bool = True) -> AvLipsyncModel:
        super().train(mode)
        if getattr(self, "_lipsync_frozen", False):
            self.lipsync.eval()
        return self

    # --- shapes and checks ---------------------------------------------------------------------------------------

    @property
    def lookahead_frames(self) -> int:
        return int(self.config.lookahead_frames)

    @property
    def receptive_field(self) -> dict[str, int]:
        """Past and future input frames one output frame depends on (lipsync path; expression adds its own)."""
        return {
            "past_lipsync": self.lipsync.stack.receptive_field - 1 - self.lookahead_frames,
            "past_expression": self.lipsync.stack.receptive_field
            + self.expression.stack.receptive_field
            - 2
            - self.lookahead_frames,
            "future": self.lookahead_frames,
        }

    def _check_features(self, input_features: Any) -> torch.Tensor:
        if not isinstance(input_features, torch.Tensor) or not input_features.is_floating_point():
            raise ValueError(
                f"input_features must be a float tensor (batch, frames, {self.config.n_mels}) of log-mel frames "
                "from AvLipsyncProcessor"
            )
        if input_features.ndim != 3 or input_features.shape[-1] != self.config.n_mels:
            raise ValueError(
                f"input_features must be (batch, frames, {self.config.n_mels}), got {tuple(input_features.shape)}"
            )
        return input_features

    def _check_condition(self, condition: Any, batch: int, frames: int, like: torch.Tensor) -> torch.Tensor:
        c = self.config.condition_dim
        if condition is None:
            return like.new_zeros(batch, frames, c)
        condition = torch.as_tensor(condition, dtype=like.dtype, device=like.device)
        if condition.ndim == 2 and condition.shape == (batch, c):
            condition = condition[:, None, :].expand(batch, frames, c)
        if condition.shape != (batch, frames, c):
            raise ValueError(
                f"condition must be (batch, frames, {c}) or (batch, {c}) matching input_features "
                f"({batch}, {frames}, ...), got {tuple(condition.shape)}; see AvLipsyncProcessor.condition_for"
            )
        if not torch.isfinite(condition).all():
            raise ValueError("condition contains NaN/inf")
        return condition

    # --- the computation -----------------------------------------------------------------------------------------

    @staticmethod
    def _expression_input(
        features: torch.Tensor, condition: torch.Tensor, lipsync_hidden: torch.Tensor
    ) -> torch.Tensor:
        """Expression input at stack position s: condition of frame s - L, prosody and lipsync hidden of s."""
        return torch.cat([condition, prosody(features), lipsync_hidden.detach()], dim=-1)

    def _assemble(
        self, lip_logits: torch.Tensor, expression_hidden: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Lipsync logits + expression hidden → (blendshapes, lipsync-only blendshapes, seal logits or None).

        Blendshapes are (B, T, 52) in [0, 1]; seal logits (B, T) come from ``lip_seal`` models.
        """
        n = len(self.config.lipsync_channels)
        seal_logits = lip_logits[..., n] if self.config.lip_seal else None
        # Contiguous, so sigmoid takes the same kernel path here and on ``lip_logits + delta`` (bit-equal outputs).
        lip_logits = lip_logits[..., :n].contiguous()
        delta = self.expression.shared_delta(expression_hidden)
        onehot = torch.eye(lip_logits.shape[-1], dtype=delta.dtype, device=delta.device)[
            self._shared_in_lipsync
        ]
        lip_probs = torch.sigmoid(lip_logits)
        shared = onehot.sum(0) > 0
        # Channels without a delta keep the lipsync branch's value exactly (bit for bit).
        full_lip = torch.where(shared, torch.sigmoid(lip_logits + delta @ onehot), lip_probs)
        if seal_logits is not None:
            seal = torch.sigmoid(seal_logits)[..., None]
            full_lip, lip_probs = self._seal(full_lip, seal), self._seal(lip_probs, seal)
        expr_probs = torch.sigmoid(self.expression.head(expression_hidden))
        zero = lip_probs.new_zeros(*lip_probs.shape[:-1], 1)
        blendshapes = torch.cat([full_lip, expr_probs, zero], dim=-1)[..., self._gather]
        return blendshapes, self._lipsync_only(lip_probs), seal_logits

    def _lipsync_only(self, lip_probs: torch.Tensor) -> torch.Tensor:
        """(B, T, lipsync channels) probabilities → (B, T, 52) with every other channel at rest (0)."""
        rest = lip_probs.new_zeros(*lip_probs.shape[:-1], len(self.config.expression_channels) + 1)
        return torch.cat([lip_probs, rest], dim=-1)[..., self._gather_lipsync_only]

    def _seal(self, lip_probs: torch.Tensor, seal: torch.Tensor) -> torch.Tensor:
        """Sealed lips in ARKit terms: ``mouthClose = p * jawOpen``, floor channels at least ``p * floor``."""
        n = lip_probs.shape[-1]
        # Read from the config on each call: `avzoo release` calibrates the floor after training.
        floors = [self.config.lip_seal_floor.get(name, 0.0) for name in self.config.lipsync_channels]
        floor = torch.tensor(floors, dtype=lip_probs.dtype, device=lip_probs.device)
        is_close = torch.arange(n, device=lip_probs.device) == self._seal_close
        jaw = lip_probs[..., self._seal_jaw : self._seal_jaw + 1]
        return torch.where(is_close, seal * jaw, torch.maximum(lip_probs, seal * floor))

    def _lipsync(
        self, features: torch.Tensor, caches: list[torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor] | None]:
        """The lipsync branch: (hidden, logits, new caches); offline when ``caches`` is None, else one step.

        A frozen branch runs without autograd, so no gradient can reach it even if a checkpoint load or a user
        switched ``requires_grad`` back on.
        """
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.lipsync_frozen):
            if caches is None:
                hidden = self.lipsync.stack(features)
            else:
                hidden, caches = self.lipsync.stack.step(features, caches)
            return hidden, self.lipsync.head(hidden), caches

    def resolve_mode(self, mode: str | None) -> str:
        """``"offline"`` or ``"streaming"``; None picks offline when the checkpoint has it."""
        if mode is None:
            return "offline" if self.offline is not None else "streaming"
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES} or None, got {mode!r}")
        if mode == "offline" and self.offline is None:
            raise ValueError(
                "this checkpoint has no offline quality mode (config.offline_dilations is empty); use "
                "mode='streaming' or None"
            )
        return mode

    def _branch_states(
        self, features: torch.Tensor, condition: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Both stacks over checked tensors → (lipsync hidden, lipsync logits, expression hidden), all (B, T, ...)."""
        lookahead = self.lookahead_frames
        # L closing zero frames after the features; frame t's condition moves to position t + L.
        features = nn.functional.pad(features, (0, 0, 0, lookahead))
        condition = nn.functional.pad(condition, (0, 0, lookahead, 0))
        lipsync_hidden, lip_logits, _ = self._lipsync(features)
        expression_hidden = self.expression.stack(self._expression_input(features, condition, lipsync_hidden))
        return lipsync_hidden[:, lookahead:], lip_logits[:, lookahead:], expression_hidden[:, lookahead:]

    def _heads(
        self,
        lipsync_hidden: torch.Tensor,
        lip_logits: torch.Tensor,
        expression_hidden: torch.Tensor,
        offline: bool = False,
        mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Branch states → (blendshapes, lipsync-only blendshapes, seal logits or None); ``offline`` refines first."""
        if offline:
            if mask is None:
                mask = lipsync_hidden.new_ones(*lipsync_hidden.shape[:2], 1)
            lip_logits = self.offline(lipsync_hidden, lip_logits, mask)
        return self._assemble(lip_logits, expression_hidden)

    def compute(
        self,
        features: torch.Tensor,
        condition: torch.Tensor,
        offline: bool = False,
        mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """The whole-utterance computation on checked tensors (the streaming one is what the ONNX export traces).

        ``offline`` runs the refiner on the lipsync logits; ``mask`` (B, T, 1) marks real frames for it.
        Returns (blendshapes, lipsync-only blendshapes, lipsync hidden, expression hidden, seal logits or None),
        all (B, T, ...).
        """
        lipsync_hidden, lip_logits, expression_hidden = self._branch_states(features, condition)
        blendshapes, lipsync_only, seal_logits = self._heads(
            lipsync_hidden, lip_logits, expression_hidden, offline, mask
        )
        return blendshapes, lipsync_only, lipsync_hidden, expression_hidden, seal_logits

    def _checked_inputs(
        self, input_features: Any, condition: Any, attention_mask: Any
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """(features, condition, mask (B, T, 1) or None), checked, with padded frames zeroed."""
        features = self._check_features(input_features)
        batch, frames, _ = features.shape
        condition = self._check_condition(condition, batch, frames, features)
        if attention_mask is None:
            return features, condition, None
        attention_mask = torch.as_tensor(attention_mask, device=features.device)
        if attention_mask.shape != (batch, frames):
            raise ValueError(
                f"attention_mask must be (batch, frames) = ({batch}, {frames}), got {tuple(attention_mask.shape)}"
            )
        mask = attention_mask.to(features.dtype)[..., None]
        # Padding reads as the zeros a lone utterance is padded with, so it cannot leak into real frames.
        return features * mask, condition * mask, mask

    def branch_states(
        self,
        input_features: torch.Tensor,
        condition: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The streaming stacks' states (lipsync hidden, lipsync logits, expression hidden), before any head.

        :meth:`outputs_from_states` turns them into ``forward``'s outputs; the recipe caches them to train the
        offline refiner alone (phase 3), since nothing before it changes.
        """
        features, condition, _ = self._checked_inputs(input_features, condition, attention_mask)
        return self._branch_states(features, condition)

    def outputs_from_states(
        self,
        lipsync_hidden: torch.Tensor,
        lip_logits: torch.Tensor,
        expression_hidden: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        mode: str | None = None,
    ) -> AvLipsyncOutput:
        """:meth:`branch_states` → the outputs of ``forward`` (same arguments, same mode rule)."""
        offline = self.resolve_mode(mode) == "offline"
        mask = None
        if attention_mask is not None:
            mask = torch.as_tensor(attention_mask, device=lip_logits.device).to(lip_logits.dtype)[..., None]
        blendshapes, lipsync_only, seal_logits = self._heads(
            lipsync_hidden, lip_logits, expression_hidden, offline, mask
        )
        if mask is not None:
            blendshapes = blendshapes * mask
            lipsync_only = lipsync_only * mask
        phone_logits = None
        if self.config.phone_labels_vocab:
            phone_logits = self.lipsync.phone_head(lipsync_hidden)
        return AvLipsyncOutput(
            blendshapes=blendshapes,
            lipsync_blendshapes=lipsync_only,
            lipsync_hidden_state=lipsync_hidden,
            expression_hidden_state=expression_hidden,
            lip_seal=None if seal_logits is None else torch.sigmoid(seal_logits),
            seal_logits=seal_logits,
            phone_logits=phone_logits,
        )

    @can_return_tuple
    def forward(
        self,
        input_features: torch.Tensor,
        condition: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        mode: str | None = None,
        **kwargs,
    ) -> AvLipsyncOutput:
        """Blendshapes for a batch of utterances.

        Args:
            input_features: (B, T, n_mels) normalised log-mel at ``fps`` (from :class:`AvLipsyncProcessor`).
            condition: (B, T, C) or (B, C) emotion condition (``AvLipsyncProcessor.condition_for``); default zeros
                (neutral).
            attention_mask: (B, T), 1 on real frames, 0 on right padding.
            mode: ``"streaming"`` (look-ahead ``lookahead_frames``, what the streamer computes), ``"offline"``
                (the refiner; look-ahead ``config.offline_lookahead_frames``) or None: offline when the checkpoint
                has it.
        """
        self.resolve_mode(mode)  # a bad mode fails before any work
        states = self.branch_states(input_features, condition, attention_mask)
        return self.outputs_from_states(*states, attention_mask=attention_mask, mode=mode)

    # --- streaming -----------------------------------------------------------------------------------------------

    def init_stream(self, batch_size: int = 1) -> AvLipsyncStreamState:
        """A fresh streaming state for ``batch_size`` parallel streams."""
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        param = next(self.parameters())
        dtype, device = param.dtype, param.device
        return AvLipsyncStreamState(
            lipsync_caches=self.lipsync.stack.init_cache(batch_size, dtype, device),
            expression_caches=self.expression.stack.init_cache(batch_size, dtype, device),
            condition_queue=torch.zeros(
                batch_size, self.lookahead_frames, self.config.condition_dim, dtype=dtype, device=device
            ),
        )

    def stream_positions(
        self,
        features: torch.Tensor,
        condition: torch.Tensor,
        lipsync_caches: list[torch.Tensor],
        expression_caches: list[torch.Tensor],
        condition_queue: torch.Tensor,
    ) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor], torch.Tensor]:
        """One streaming step on plain tensors: the outputs at the new stack positions (one per feature frame).

        Output row ``i`` is blendshape frame ``frames_in + i - L``; rows for frames below 0 are warm-up and are
        dropped by :meth:`stream_step`. Returns (blendshapes (B, n, 52), lipsync caches, expression caches,
        condition queue).
        """
        lookahead = self.lookahead_frames
        if lookahead:
            queued = torch.cat([condition_queue, condition], dim=1)
            delayed, queue = queued[:, :-lookahead], queued[:, -lookahead:]
        else:
            delayed, queue = condition, condition_queue
        lipsync_hidden, lip_logits, lipsync_caches = self._lipsync(features, lipsync_caches)
        expression_hidden, expression_caches = self.expression.stack.step(
            self._expression_input(features, delayed, lipsync_hidden), expression_caches
        )
        blendshapes = self._assemble(lip_logits, expression_hidden)[0]
        return blendshapes, lipsync_caches, expression_caches, queue

    def stream_step(
        self,
        features: torch.Tensor,
        condition: torch.Tensor | None,
        state: AvLipsyncStreamState,
        final: bool = False,
    ) -> tuple[torch.Tensor, AvLipsyncStreamState]:
        """Feed feature frames; get the blendshape frames that became computable, and the new state.

        ``features`` (B, n, n_mels) with n >= 0, ``condition`` (B, n, C), (B, C) or None (zeros) for those frames.
        Frame ``t`` comes out once feature frame ``t + L`` is in; ``final=True`` closes the stream (feeds L zero
        frames) and returns the remaining frames. Returns (B, k, 52) and a new state (the old one is unchanged).
        """
        if state.finished:
            raise ValueError(
                "this stream is finished (final=True was passed); start a new one with init_stream()"
            )
        features = self._check_features(features)
        batch = state.batch_size
        if features.shape[0] != batch:
            raise ValueError(f"the stream has batch size {batch}, features have {features.shape[0]}")
        param = next(self.parameters())
        features = features.to(param.dtype).to(param.device)
        condition = self._check_condition(condition, batch, features.shape[1], features)
        lookahead = self.lookahead_frames
        if final:
            features = nn.functional.pad(features, (0, 0, 0, lookahead))
            condition = nn.functional.pad(condition, (0, 0, 0, lookahead))
        if features.shape[1] == 0:
            return features.new_zeros(batch, 0, self.config.num_blendshapes), state
        with torch.no_grad():
            out, lip_caches, expr_caches, queue = self.stream_positions(
                features, condition, state.lipsync_caches, state.expression_caches, state.condition_queue
            )
        # Rows are stack positions frames_in, frames_in + 1, ...; position p is frame p - L.
        out = out[:, min(max(0, lookahead - state.frames_in), out.shape[1]) :]
        received = state.frames_in + features.shape[1] - (lookahead if final else 0)
        new_state = replace(
            state,
            lipsync_caches=lip_caches,
            expression_caches=expr_caches,
            condition_queue=queue,
            frames_in=received,
            frames_out=state.frames_out + out.shape[1],
            finished=final,
        )
        return out, new_state

    def streamer(self, processor: Any, **kwargs: Any):
        """An :class:`AvLipsyncStreamer` for raw audio chunks (see ``streaming_av_lipsync.py``)."""
        from .streaming_av_lipsync import AvLipsyncStreamer

        return AvLipsyncStreamer(self, processor, **kwargs)


class AvLipsyncForBlendshapeRegression(AvLipsyncPreTrainedModel):
    """av-lipsync with its training loss: ``labels`` (B, T, 52) give ``loss``, the loss the recipe minimises.

    The loss weights and the scored branch are the caller's (the recipe's) to choose per call; see
    ``loss_av_lipsync.py``. Loads any av-lipsync checkpoint (the base model's weights sit under ``av_lipsync``).
    """

    def __init__(self, config: AvLipsyncConfig):
        super().__init__(config)
        self.av_lipsync = AvLipsyncModel(config)
        self.post_init()

    def freeze_lipsync(self, freeze: bool = True) -> None:
        """See :meth:`AvLipsyncModel.freeze_lipsync`."""
        self.av_lipsync.freeze_lipsync(freeze)

    @can_return_tuple
    def forward(
        self,
        input_features: torch.Tensor,
        condition: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        phone_labels: torch.Tensor | None = None,
        loss_weights: AvLipsyncLossWeights | None = None,
        branch: str = "full",
        mode: str | None = None,
        **kwargs,
    ) -> AvLipsyncRegressionOutput:
        """Blendshapes and, with ``labels`` (B, T, 52), the training loss.

        Args (besides :meth:`AvLipsyncModel.forward`'s):
            labels: (B, T, 52) target blendshapes.
            phone_labels: (B, T) indices into ``config.phone_labels_vocab`` (-100 = ignore) for the phone head.
            loss_weights: the terms' weights (default :class:`AvLipsyncLossWeights`, the bundled model's).
            branch: ``"full"`` scores ``blendshapes`` on all channels; ``"lipsync"`` scores the lipsync branch
                alone on the lipsync channels (phase 1).
        """
        out = self.av_lipsync(input_features, condition=condition, attention_mask=attention_mask, mode=mode)
        loss = None
        if labels is not None:
            loss = av_lipsync_loss(
                out, labels, attention_mask, self.config, loss_weights, branch, phone_labels
            ).loss
        return AvLipsyncRegressionOutput(loss=loss, **out)


__all__ = [
    "AvLipsyncForBlendshapeRegression",
    "AvLipsyncModel",
    "AvLipsyncOutput",
    "AvLipsyncPreTrainedModel",
    "AvLipsyncRegressionOutput",
    "AvLipsyncStreamState",
]
