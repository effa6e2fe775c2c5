"""The av-lipsync recipe end to end on a tiny corpus: phase 1, then phase 2 with the lipsync branch frozen."""

import numpy as np
import pytest
import torch

from avzoo.models.av_lipsync import AvLipsyncModel
from avzoo.synth.corpus import CorpusConfig, build_corpus
from avzoo.train.augment import Augmenter
from avzoo.train.av_lipsync import AvLipsyncTrainConfig, main

TINY = {
    "lipsync_hidden_size": 16,
    "lipsync_dilations": [1, 2],
    "expression_hidden_size": 8,
    "expression_dilations": [1],
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("corpus")
    cfg = CorpusConfig(
        utterances={"train": 6, "validation": 2}, speakers={"train": 2, "validation": 1}, shard_size=6
    )
    build_corpus(cfg, out, num_proc=1, progress=False)
    return out


def test_phase2_keeps_phase1_lipsync_bit_identical(corpus, tmp_path):
    common = [f"corpus_dir={corpus}", "batch_size=3", "progress=false", "num_epochs=1", "learning_rate=0.01"]
    p1 = main([*common, f"output_dir={tmp_path / 'p1'}", "phase=1", f"model={TINY}"])
    p2 = main([*common, f"output_dir={tmp_path / 'p2'}", "phase=2", f"init_from={p1.final_dir}"])
    a = AvLipsyncModel.from_pretrained(p1.final_dir).eval()
    b = AvLipsyncModel.from_pretrained(p2.final_dir).eval()
    x = torch.randn(2, 40, 80)
    cond = torch.zeros(2, 40, 12)
    cond[:, :, 2] = 1.0
    oa, ob = a(x, cond), b(x, cond)
    assert torch.equal(oa.lipsync_blendshapes, ob.lipsync_blendshapes)
    assert not torch.equal(oa.blendshapes, ob.blendshapes)  # the expression branch did train
    assert (p2.final_dir / "preprocessor_config.json").exists()
    assert np.isfinite(p1.eval_history[-1]["eval_lipsync_mae"])


def test_config_errors():
    with pytest.raises(ValueError, match="init_from"):
        AvLipsyncTrainConfig(phase=2)
    with pytest.raises(ValueError, match="phase"):
        AvLipsyncTrainConfig(phase=3)


def test_augmenter_keeps_length_and_range():
    rng = np.random.default_rng(0)
    x = (0.5 * np.sin(np.arange(16000) / 10)).astype(np.float32)
    aug = Augmenter(
        p_gain=1, p_filter=1, p_reverb=1, p_noise=1, p_babble=1, babble=[rng.standard_normal(8000) * 0.1]
    )
    y = aug(x, rng)
    assert y.shape == x.shape and y.dtype == np.float32 and np.abs(y).max() <= 0.99 + 1e-6
    assert not np.allclose(x, y)
