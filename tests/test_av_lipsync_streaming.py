"""av-lipsync streaming: the feature stream and AvLipsyncStreamer (chunks of any size, rates and channel layouts)
match the offline model + processor."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from av_lipsync_helpers import SR, speechlike, tiny_model

from avzoo.models.av_lipsync import AvLipsyncProcessor, AvLipsyncStreamer, CrispMouthStream


def offline(model, processor, audio, rate=SR, **emotion) -> np.ndarray:
    with torch.no_grad():
        return model(**processor(audio, sampling_rate=rate, **emotion)).blendshapes[0].numpy()


def run(streamer: AvLipsyncStreamer, chunks) -> np.ndarray:
    return np.concatenate([streamer.push(c) for c in chunks] + [streamer.flush()])


@pytest.mark.parametrize("chunk", [1, 160, 1234, 16000])
def test_feature_stream_equals_offline(chunk):
    processor = AvLipsyncProcessor()
    audio = speechlike(0.8)
    expected = processor(audio, sampling_rate=SR, return_tensors="np")["input_features"][0]
    stream = processor.stream()
    parts, ready_after = [], []
    for i in range(0, len(audio), chunk):
        parts.append(stream.push(audio[i : i + chunk]))
        ready_after.append((min(i + chunk, len(audio)), stream.frames_emitted))
    parts.append(stream.flush())
    np.testing.assert_allclose(np.concatenate(parts), expected, atol=1e-5)
    assert stream.samples_received == len(audio)
    for received, emitted in ready_after:  # frame t is out once sample c_t + 533 has arrived
        assert emitted == sum(1 for t in range(len(expected)) if round(t * SR / 30) + 533 <= received - 1)


@pytest.mark.parametrize("chunk", [160, 1234, 16000])
def test_streamer_equals_offline_for_any_chunk_size(chunk):
    model = tiny_model()
    processor = AvLipsyncProcessor()
    audio = speechlike(1.0)
    expected = offline(model, processor, audio, emotion="angry", intensity=0.8)
    streamer = AvLipsyncStreamer(model, processor, emotion="angry", intensity=0.8)
    blocks = list(streamer.stream(audio[i : i + chunk] for i in range(0, len(audio), chunk)))
    got = np.concatenate(blocks)
    assert got.shape == expected.shape == (30, 52) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, atol=1e-4)
    assert streamer.frames_emitted == 30
    # Look-ahead 2 frames (66.7 ms) + the window's 16.7 ms past the frame's middle; 33.3 ms past its centre.
    assert streamer.latency_ms["total_without_chunking"] == pytest.approx(83.3, abs=0.1)
    assert streamer.latency_ms["total_from_window_centre"] == pytest.approx(100.0, abs=0.1)
    with pytest.raises(ValueError, match="flushed"):
        streamer.push(audio[:160])
    with pytest.raises(ValueError, match="flushed"):
        streamer.flush()
    streamer.reset()  # a new stream with the same emotion gives the same frames
    np.testing.assert_allclose(run(streamer, [audio]), expected, atol=1e-4)


def test_streamer_emotion_condition_and_switching():
    model = tiny_model()
    processor = AvLipsyncProcessor()
    audio = speechlike(1.0)
    by_label = run(AvLipsyncStreamer(model, processor, emotion="happy", intensity="normal"), [audio])
    by_vector = run(
        AvLipsyncStreamer(model, processor, condition=processor.condition_for("happy", "normal")), [audio]
    )
    np.testing.assert_array_equal(by_label, by_vector)
    neutral = run(AvLipsyncStreamer(model, processor), [audio])
    np.testing.assert_allclose(neutral, offline(model, processor, audio), atol=1e-4)
    assert not np.allclose(by_label, neutral)
    # Switching between pushes changes only what is computed from then on.
    streamer = AvLipsyncStreamer(model, processor)
    first = streamer.push(audio[:8000])
    streamer.set_emotion("happy", "normal")
    rest = np.concatenate([streamer.push(audio[8000:]), streamer.flush()])
    np.testing.assert_allclose(first, neutral[: len(first)], atol=1e-4)
    assert len(first) > 5 and not np.allclose(rest, neutral[len(first) :])
    with pytest.raises(ValueError, match="not both"):
        AvLipsyncStreamer(model, processor, emotion="happy", condition=processor.condition_for("happy"))
    with pytest.raises(ValueError, match="condition must be 12 finite values"):
        AvLipsyncStreamer(model, processor, condition=np.zeros(5))
    with pytest.raises(ValueError, match="unknown emotion"):
        AvLipsyncStreamer(model, processor, emotion="bored")


def test_streamer_resamples_stereo_and_filters():
    model = tiny_model()
    processor = AvLipsyncProcessor()
    mono = speechlike(0.5, rate=44100)
    stereo = np.stack([mono, mono], axis=1)  # (samples, channels) as an audio callback gives it
    expected = offline(model, processor, stereo, rate=44100)
    chunks = [stereo[i : i + 4410] for i in range(0, len(stereo), 4410)]
    got = run(AvLipsyncStreamer(model, processor, sampling_rate=44100), chunks)
    np.testing.assert_allclose(got, expected, atol=1e-4)
    smooth = run(AvLipsyncStreamer(model, processor, sampling_rate=44100, crisp_mouth=True), chunks)
    np.testing.assert_allclose(smooth, processor.crisp_mouth_streamer()(expected), atol=1e-5)
    overrides = run(
        AvLipsyncStreamer(model, processor, sampling_rate=44100, crisp_mouth={"alpha": 0.3}), chunks
    )
    np.testing.assert_allclose(overrides, processor.crisp_mouth_streamer(alpha=0.3)(expected), atol=1e-5)
    given = run(
        AvLipsyncStreamer(model, processor, sampling_rate=44100, crisp_mouth=CrispMouthStream(alpha=0.4)),
        chunks,
    )
    np.testing.assert_allclose(given, CrispMouthStream(alpha=0.4)(expected), atol=1e-5)
    with pytest.raises(ValueError, match="crisp_mouth must be"):
        AvLipsyncStreamer(model, processor, crisp_mouth="yes")


def test_streamer_channel_axis():
    """A 2-D chunk is (channels, samples) or (samples, channels), as avzoo.io.audio reads it: (2, 320) is stereo."""
    model = tiny_model()
    processor = AvLipsyncProcessor()
    left, right = speechlike(0.5), speechlike(0.5, seed=5)
    mono = ((left + right) / 2).astype(np.float32)
    expected = run(AvLipsyncStreamer(model, processor), [mono[i : i + 320] for i in range(0, len(mono), 320)])
    stereo = np.stack([left, right])
    channels_first = [stereo[:, i : i + 320] for i in range(0, stereo.shape[1], 320)]
    samples_first = [c.T for c in channels_first]
    assert channels_first[0].shape == (2, 320)
    for chunks in (channels_first, samples_first):
        np.testing.assert_allclose(run(AvLipsyncStreamer(model, processor), chunks), expected, atol=1e-5)
    # Tiny chunks where both axes have at most 16 entries: (samples, channels) when samples outnumber channels.
    short = stereo[:, :1600]
    tiny = [short[:, i : i + 8].T for i in range(0, short.shape[1], 8)]
    assert tiny[0].shape == (8, 2)
    np.testing.assert_allclose(
        run(AvLipsyncStreamer(model, processor), tiny),
        run(AvLipsyncStreamer(model, processor), [mono[:1600]]),
        atol=1e-5,
    )
    streamer = AvLipsyncStreamer(model, processor)
    for shape in ((2, 8), (4, 4), (20, 20), (17, 40)):
        with pytest.raises(ValueError, match="cannot tell the channel axis"):
            streamer.push(np.full(shape, 0.01, np.float32))
    with pytest.raises(ValueError, match="1-D"):
        streamer.push(np.zeros((2, 2, 100), np.float32))
    assert streamer.frames_emitted == 0  # refused chunks changed nothing


def test_streamer_bad_chunks_and_settings():
    model = tiny_model()
    processor = AvLipsyncProcessor()
    streamer = AvLipsyncStreamer(model, processor)
    with pytest.raises(ValueError, match="NaN"):
        streamer.push(np.full(100, np.nan, np.float32))
    with pytest.raises(ValueError, match="outside"):
        streamer.push(np.full(100, 300.0, np.float32))
    with pytest.raises(ValueError, match="not audio"):
        streamer.push(np.array(["a", "b"]))
    # Silence is normal mid-stream, and integer PCM is scaled like the offline path scales it.
    assert streamer.push(np.zeros(800, np.float32)).shape[1] == 52
    pcm = (speechlike(0.5) * 32767).astype(np.int16)
    np.testing.assert_allclose(
        run(AvLipsyncStreamer(model, processor), [pcm]), offline(model, processor, pcm), atol=1e-4
    )
    with pytest.raises(ValueError, match="sampling_rate"):
        AvLipsyncStreamer(model, processor, sampling_rate=100)
    with pytest.raises(ValueError, match="mel bands"):
        AvLipsyncStreamer(model, AvLipsyncProcessor(feature_size=40))
    assert isinstance(model.streamer(processor, emotion="sad"), AvLipsyncStreamer)
