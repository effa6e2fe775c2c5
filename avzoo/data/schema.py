"""The column schema that the synthetic corpus and every real-data adapter share.

One row is one utterance. Columns a source cannot provide are ``None`` (a real RAVDESS take
has no blendshapes; a LibriSpeech utterance has no emotion), so any recipe can train and
evaluate on synthetic and real data alike and filter on what it needs.

=================  =====================================  ========================================
column             type                                   meaning
=================  =====================================  ========================================
id                 string                                 unique within the dataset
audio              Audio(16 kHz, mono)                    speech, downmixed on decode
text               string                                 transcript (None if unknown)
emotion            ClassLabel(RAVDESS 8)                  intended emotion (-1 if unknown)
intensity          ClassLabel(normal, strong)             (-1 if unknown)
text_emotion       string                                 what the words alone say (sarcasm differs)
blendshapes        Array2D((None, 52), float32)           per frame at ``fps``, canonical ARKit order
head_pose          Array2D((None, 3), float32)            yaw, pitch, roll (radians) per frame
fps                float32                                blendshape/face frame rate
phonemes           list of {phone, start, end}            ARPAbet phones with times in seconds
speaker_id         string                                 disjoint across splits
voice              string                                 TTS voice or recording channel
engine             string                                 espeak / festival / real dataset name
identity_id        string                                 rendered face identity (None if real)
source             string                                 synthetic / ravdess / livelink / ...
face               Array4D((None, S, S, 3), uint8)        optional: face crops per frame
video              string                                 optional: path to the source video
=================  =====================================  ========================================
"""

from __future__ import annotations

from datasets import Array2D, Array4D, Audio, ClassLabel, Features, List, Value

from avzoo.emotions import RAVDESS_EMOTIONS, RAVDESS_INTENSITIES

SAMPLING_RATE = 16000


def utterance_features(face_size: int | None = None, video: bool = False) -> Features:
    """Features of an utterance dataset; ``face_size`` adds a face-crop column of that size."""
    cols = {
        "id": Value("string"),
        "audio": Audio(sampling_rate=SAMPLING_RATE, num_channels=1),
        "text": Value("string"),
        "emotion": ClassLabel(names=list(RAVDESS_EMOTIONS)),
        "intensity": ClassLabel(names=list(RAVDESS_INTENSITIES)),
        "text_emotion": Value("string"),
        "blendshapes": Array2D(shape=(None, 52), dtype="float32"),
        "head_pose": Array2D(shape=(None, 3), dtype="float32"),
        "fps": Value("float32"),
        "phonemes": List({"phone": Value("string"), "start": Value("float32"), "end": Value("float32")}),
        "speaker_id": Value("string"),
        "voice": Value("string"),
        "engine": Value("string"),
        "identity_id": Value("string"),
        "source": Value("string"),
    }
    if face_size is not None:
        cols["face"] = Array4D(shape=(None, face_size, face_size, 3), dtype="uint8")
    if video:
        cols["video"] = Value("string")
    return Features(cols)


def empty_row(features: Features) -> dict:
    """A row with every column ``None`` (class labels -1), to be filled by an adapter."""
    return {k: (-1 if isinstance(v, ClassLabel) else None) for k, v in features.items()}


def mixture_features(max_sources: int = 6) -> Features:
    """Features of a separation dataset: the mixture and its references ``s1``..``sK``.

    Mixtures with fewer talkers than ``max_sources`` leave the extra references ``None``.
    """
    cols = {
        "id": Value("string"),
        "mixture": Audio(sampling_rate=SAMPLING_RATE, num_channels=1),
        "num_sources": Value("int32"),
        "source": Value("string"),
    }
    for i in range(1, max_sources + 1):
        cols[f"s{i}"] = Audio(sampling_rate=SAMPLING_RATE, num_channels=1)
    return Features(cols)
