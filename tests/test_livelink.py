"""Live Link Face CSV read/write, resampling and the JSON export."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from avzoo.arkit import ARKIT_NAMES, INDEX, LIVELINK_NAMES
from avzoo.io.blendshape_json import from_json, to_json
from avzoo.io.livelink import (
    LIVELINK_HEADER,
    MAX_OVERSHOOT,
    ROTATION_NAMES,
    BlendshapeRangeWarning,
    livelink_timecodes,
    read_livelink_csv,
    resample_blendshapes,
    write_livelink_csv,
)

FIXTURES = Path(__file__).parent / "fixtures" / "livelink"
# Typed out from shared/reference/arkit.md and public importers' header constants, not built from avzoo.arkit.
REAL_HEADER = (
    "Timecode,BlendshapeCount,EyeBlinkLeft,EyeLookDownLeft,EyeLookInLeft,EyeLookOutLeft,EyeLookUpLeft,"
    "EyeSquintLeft,EyeWideLeft,EyeBlinkRight,EyeLookDownRight,EyeLookInRight,EyeLookOutRight,EyeLookUpRight,"
    "EyeSquintRight,EyeWideRight,JawForward,JawRight,JawLeft,JawOpen,MouthClose,MouthFunnel,MouthPucker,"
    "MouthRight,MouthLeft,MouthSmileLeft,MouthSmileRight,MouthFrownLeft,MouthFrownRight,MouthDimpleLeft,"
    "MouthDimpleRight,MouthStretchLeft,MouthStretchRight,MouthRollLower,MouthRollUpper,MouthShrugLower,"
    "MouthShrugUpper,MouthPressLeft,MouthPressRight,MouthLowerDownLeft,MouthLowerDownRight,MouthUpperUpLeft,"
    "MouthUpperUpRight,BrowDownLeft,BrowDownRight,BrowInnerUp,BrowOuterUpLeft,BrowOuterUpRight,CheekPuff,"
    "CheekSquintLeft,CheekSquintRight,NoseSneerLeft,NoseSneerRight,TongueOut,HeadYaw,HeadPitch,HeadRoll,"
    "LeftEyeYaw,LeftEyePitch,LeftEyeRoll,RightEyeYaw,RightEyePitch,RightEyeRoll"
)


def fixture_values(rows: int) -> tuple[np.ndarray, np.ndarray]:
    """What the fixtures hold: canonical channel i on row r is (i+1)/100 + r/1000; rotations alternate sign."""
    shapes = [[round((i + 1) * 0.01 + r * 0.001, 4) for i in range(52)] for r in range(rows)]
    rots = [[round((-1) ** j * (0.0123 * (j + 1) + 0.0007 * r), 4) for j in range(9)] for r in range(rows)]
    return np.array(shapes, dtype=np.float32), np.array(rots, dtype=np.float32)


def random_take(t: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.random((t, 52)).astype(np.float32)
    x[0, :4] = [0.0, 1.0, np.float32(1e-30), np.nextafter(np.float32(1), np.float32(0))]
    x[1, :2] = [np.float32(1.4e-45), np.float32(0.1)]  # smallest subnormal, a classic non-dyadic value
    rot = (rng.standard_normal((t, 9)) * 0.2).astype(np.float32)
    return x, rot


def unreal_import(path: Path) -> tuple[list[str], np.ndarray, int]:
    """Re-expression of ULiveLinkFaceImporterFactory (UE 5): header keys, row sample times, inferred rate."""
    lines = [ln for ln in path.read_text().splitlines() if ln]
    keys = lines[0].split(",")
    assert keys[0].lower() == "timecode" and keys[1].lower() == "blendshapecount"  # FString == ignores case
    rows = [ln.split(",") for ln in lines[1:]]
    assert all(len(r) == len(keys) for r in rows)
    frames = [float(r[0].split(":")[3]) for r in rows]
    rate = 60 if max(frames) > 30 else 30
    times = []
    for r in rows:
        h, m, s, f = r[0].split(":")
        times.append(int(h) * 3600 + int(m) * 60 + int(s) + float(f) / rate)
    return keys, np.array(times) - times[0], rate


# --- layout ---------------------------------------------------------------------------------------
def test_header_is_the_real_63_column_header(tmp_path):
    assert ",".join(LIVELINK_HEADER) == REAL_HEADER
    assert len(LIVELINK_HEADER) == 63
    path = write_livelink_csv(tmp_path / "take.csv", np.zeros((40, 52), np.float32))
    assert path.read_text().splitlines()[0] == REAL_HEADER


def test_rows_have_count_61_and_63_cells(tmp_path):
    x, rot = random_take(50)
    text = write_livelink_csv(tmp_path / "take.csv", x, rotations=rot).read_text()
    assert "\r" not in text and text.endswith("\n")
    rows = [ln.split(",") for ln in text.splitlines()[1:]]
    assert len(rows) == 50
    assert all(len(r) == 63 and r[1] == "61" for r in rows)
    assert not any("e" in cell.lower() for r in rows for cell in r[2:])  # positional decimals only


def test_write_read_is_bit_exact(tmp_path):
    x, rot = random_take(300, seed=1)
    take = read_livelink_csv(write_livelink_csv(tmp_path / "take.csv", x, fps=60, rotations=rot))
    assert take.blendshapes.dtype == np.float32 and take.blendshapes.shape == (300, 52)
    np.testing.assert_array_equal(take.blendshapes.view(np.uint32), x.view(np.uint32))
    np.testing.assert_array_equal(take.rotations.view(np.uint32), rot.view(np.uint32))
    assert take.rotation_names == ROTATION_NAMES
    assert take.fps == 60 and take.timecode_rate == 60 and take.start_timecode == "00:00:00:00.000"
    np.testing.assert_allclose(take.times, np.arange(300) / 60, atol=1e-12)


def test_columns_are_written_in_livelink_order(tmp_path):
    x = np.zeros((40, 52), np.float32)
    x[:, INDEX["jawLeft"]] = 0.25
    x[:, INDEX["mouthRight"]] = 0.75
    lines = write_livelink_csv(tmp_path / "take.csv", x).read_text().splitlines()
    row = dict(zip(lines[0].split(","), lines[1].split(","), strict=True))
    assert row["JawLeft"] == "0.25" and row["JawRight"] == "0.0"
    assert row["MouthRight"] == "0.75" and row["MouthLeft"] == "0.0"
    assert lines[0].split(",").index("JawRight") < lines[0].split(",").index("JawLeft")


# --- timecodes ------------------------------------------------------------------------------------
def test_timecodes_roll_over_at_60fps():
    tc = livelink_timecodes(122, 60)
    assert tc[0] == "00:00:00:00.000" and tc[59] == "00:00:00:59.000" and tc[60] == "00:00:01:00.000"
    assert tc[121] == "00:00:02:01.000"
    assert livelink_timecodes(3, 60, "01:59:59:58.000") == [
        "01:59:59:58.000",
        "01:59:59:59.000",
        "02:00:00:00.000",
    ]
    assert livelink_timecodes(2, 60, "23:59:59:59.000") == ["23:59:59:59.000", "00:00:00:00.000"]


def test_timecodes_at_59_94_carry_the_sub_frame(tmp_path):
    tc = livelink_timecodes(62, 59.94)
    assert tc[1] == "00:00:00:01.001" and tc[59] == "00:00:00:59.059" and tc[60] == "00:00:01:00.060"
    x, _ = random_take(200)
    path = write_livelink_csv(tmp_path / "take.csv", x, fps=59.94)
    take = read_livelink_csv(path)
    assert take.fps == 59.94 and take.timecode_rate == 60
    np.testing.assert_allclose(take.times, np.arange(200) * 1001 / 60000, atol=1e-9)
    _, ue_times, ue_rate = unreal_import(path)
    assert ue_rate == 60
    np.testing.assert_allclose(ue_times, np.arange(200) * 1001 / 60000, atol=1e-9)


def test_30fps_uses_a_30_frame_timecode(tmp_path):
    tc = livelink_timecodes(31, 30)
    assert tc[29] == "00:00:00:29.000" and tc[30] == "00:00:01:00.000"
    x, _ = random_take(90)
    path = write_livelink_csv(tmp_path / "take.csv", x, fps=30)
    take = read_livelink_csv(path)
    assert take.fps == 30 and take.timecode_rate == 30
    _, ue_times, ue_rate = unreal_import(path)
    assert ue_rate == 30
    np.testing.assert_allclose(ue_times, np.arange(90) / 30, atol=1e-9)


def test_other_rates_land_at_their_times(tmp_path):
    assert livelink_timecodes(3, 25) == ["00:00:00:00.000", "00:00:00:01.200", "00:00:00:02.400"]
    x, _ = random_take(60)
    take = read_livelink_csv(
        write_livelink_csv(tmp_path / "take.csv", x, fps=25, start_timecode="10:00:00:00")
    )
    assert take.fps == 25 and take.start_timecode == "10:00:00:00.000"
    np.testing.assert_allclose(take.times, np.arange(60) / 25, atol=1e-9)


def test_unreal_timing_at_60fps_and_short_take_warning(tmp_path):
    x, _ = random_take(120)
    keys, ue_times, ue_rate = unreal_import(write_livelink_csv(tmp_path / "a.csv", x, fps=60))
    assert ue_rate == 60 and len(keys) == 63
    np.testing.assert_allclose(ue_times, np.arange(120) / 60, atol=1e-9)
    with pytest.warns(UserWarning, match="30 fps"):
        write_livelink_csv(tmp_path / "b.csv", x[:20], fps=60)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        write_livelink_csv(tmp_path / "c.csv", x[:20], fps=60, start_timecode="00:00:05:35.000")


def test_timecode_wraps_at_midnight_on_read(tmp_path):
    x, _ = random_take(4)
    path = write_livelink_csv(tmp_path / "take.csv", x, fps=60, start_timecode="23:59:59:58.500")
    take = read_livelink_csv(path)
    assert take.timecodes[2] == "00:00:00:00.500"
    np.testing.assert_allclose(take.times, np.arange(4) / 60, atol=1e-9)


# --- reading real-layout fixtures -----------------------------------------------------------------
def test_reads_the_app_layout_and_honours_the_jaw_and_mouth_swap():
    take = read_livelink_csv(FIXTURES / "take_60fps.csv")
    shapes, rots = fixture_values(6)
    np.testing.assert_array_equal(take.blendshapes, shapes)
    np.testing.assert_array_equal(take.rotations, rots)
    assert take.blendshapes[0, INDEX["jawLeft"]] == np.float32(0.16)  # file position 17, canonical 15
    assert take.blendshapes[0, INDEX["jawRight"]] == np.float32(0.17)
    assert take.blendshapes[0, INDEX["mouthLeft"]] == np.float32(0.22)
    assert take.start_timecode == "14:03:52:57.207" and take.timecode_rate == 60 and take.fps == 60
    # FF.fff is a fractional frame: 57.207 -> 03:00.209 is 3.002 frames.
    np.testing.assert_allclose(take.times[3], 3.002 / 60, atol=1e-9)
    np.testing.assert_allclose(take.rotations_degrees[0, 0], 0.0123 * 180, rtol=1e-6)


def test_non_canonical_column_order_maps_by_name():
    take = read_livelink_csv(FIXTURES / "take_shuffled_columns.csv")
    header = (FIXTURES / "take_shuffled_columns.csv").read_text().splitlines()[0].split(",")
    assert header[0] != "Timecode" and "BlendShapeCount" in header
    shapes, rots = fixture_values(3)
    np.testing.assert_array_equal(take.blendshapes, shapes)
    np.testing.assert_array_equal(take.rotations, rots)


def test_crlf_bom_spaces_and_the_other_count_spelling():
    take = read_livelink_csv(FIXTURES / "take_30fps_crlf.csv")
    shapes, _ = fixture_values(4)
    np.testing.assert_array_equal(take.blendshapes, shapes)
    assert take.timecode_rate == 30 and take.fps == 30
    np.testing.assert_allclose(take.times, np.arange(4) / 30, atol=1e-12)


@pytest.mark.parametrize("spelling", ["BlendshapeCount", "BlendShapeCount"])
def test_both_count_spellings_round_trip(tmp_path, spelling):
    x, rot = random_take(40)
    path = write_livelink_csv(tmp_path / "take.csv", x, rotations=rot, count_column=spelling)
    assert path.read_text().split(",", 2)[1] == spelling
    np.testing.assert_array_equal(read_livelink_csv(path).blendshapes, x)


def test_missing_rotation_columns_read_as_zero_with_a_warning():
    with pytest.warns(UserWarning, match="HeadYaw"):
        take = read_livelink_csv(FIXTURES / "take_no_rotations.csv")
    np.testing.assert_array_equal(take.blendshapes, fixture_values(2)[0])
    assert take.rotations.shape == (2, 9) and not take.rotations.any()


# --- errors ---------------------------------------------------------------------------------------
def _edit(tmp_path: Path, line: int, old: str, new: str) -> Path:
    lines = (FIXTURES / "take_60fps.csv").read_text().splitlines()
    assert old in lines[line - 1]
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    out = tmp_path / "bad.csv"
    out.write_text("\n".join(lines) + "\n")
    return out


@pytest.mark.parametrize(
    ("line", "old", "new", "message"),
    [
        (1, "JawOpen", "JawOpn", r"line 1: unknown column\(s\) \['JawOpn'\]"),
        (1, "JawOpen", "jawLeft", r"line 1: column 'jawLeft' appears twice"),
        (1, "Timecode", "Time", r"line 1: unknown column"),
        (3, "14:03:52:58.211", "14:03:52:58.211,0.5", r"line 3: 64 cells, but the header has 63"),
        (4, ",0.202,", ",0.202,0.3,", r"line 4: 64 cells"),
        (2, "14:03:52:57.207", "14:03:52.57", r"line 2: timecode '14:03:52.57' is not of the form"),
        (5, "14:03:53:00.209", "14:03:53:60.209", r"line 5: timecode .* out of range"),
        (6, ",0.204,", ",abc,", r"line 6: column 'MouthFunnel' holds 'abc', not a number"),
        (3, ",0.031,", ",nan,", r"line 3: column 'EyeLookInLeft' holds 'nan'; values must be finite"),
        (2, ",61,", ",sixty-one,", r"line 2: count cell 'sixty-one'"),
    ],
)
def test_bad_files_raise_with_line_numbers(tmp_path, line, old, new, message):
    with pytest.raises(ValueError, match=message):
        read_livelink_csv(_edit(tmp_path, line, old, new))


def test_binary_and_non_utf8_files_name_the_file_and_problem(tmp_path):
    text = (FIXTURES / "take_60fps.csv").read_text()
    cases = {
        "random.csv": (np.random.default_rng(0).bytes(4000), r"random\.csv: not UTF-8 text \(byte 0x.. cannot be"),
        "image.csv": (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, r"image\.csv: not UTF-8 text.*binary file"),
        "latin1.csv": (text.replace("Timecode", "Timecodé").encode("latin-1"), r"latin1\.csv: not UTF-8 text"),
        "utf16le.csv": (text.encode("utf-16-le"), r"utf16le\.csv, line 1: contains NUL .*UTF-16 without a byte-order"),
        "huge_field.csv": (b'"' + b"x" * 200_000 + b'"\n', r"huge_field\.csv, line 1: not a readable CSV"),
    }  # fmt: skip
    for name, (data, message) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ValueError, match=message):
            read_livelink_csv(tmp_path / name)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-8-sig"])
def test_utf16_and_utf8_with_a_byte_order_mark_read_like_utf8(tmp_path, encoding):
    text = (FIXTURES / "take_60fps.csv").read_text()
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data  # big-endian with its BOM
    (tmp_path / "take.csv").write_bytes(data)
    take = read_livelink_csv(tmp_path / "take.csv")
    reference = read_livelink_csv(FIXTURES / "take_60fps.csv")
    np.testing.assert_array_equal(take.blendshapes, reference.blendshapes)
    assert take.timecodes == reference.timecodes


def test_blendshape_float_noise_outside_the_range_is_clipped_silently(tmp_path):
    path = _edit(tmp_path, 3, ",0.031,", ",1.0009,")
    path.write_text(path.read_text().replace(",0.021,", ",-0.0009,", 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        take = read_livelink_csv(path)
    assert take.blendshapes[1, INDEX["eyeLookInLeft"]] == 1.0
    assert take.blendshapes[1, INDEX["eyeLookDownLeft"]] == 0.0


def test_blendshape_overshoot_is_clipped_with_a_warning_or_refused_when_strict(tmp_path):
    path = _edit(tmp_path, 3, ",0.031,", ",1.05,")
    with pytest.warns(
        BlendshapeRangeWarning, match=r"bad\.csv: .*outside \[0, 1\].*EyeLookInLeft 1\.05 \(line 3"
    ):
        take = read_livelink_csv(path)
    assert take.blendshapes[1, INDEX["eyeLookInLeft"]] == 1.0
    assert take.blendshapes.min() >= 0.0 and take.blendshapes.max() <= 1.0
    with pytest.raises(
        ValueError, match=r"bad\.csv, line 3: column 'EyeLookInLeft' holds 1\.05, outside .*\[0, 1\]"
    ):
        read_livelink_csv(path, out_of_range="error")
    with pytest.raises(ValueError, match="out_of_range must be 'clip' or 'error'"):
        read_livelink_csv(path, out_of_range="ignore")


@pytest.mark.parametrize("value", ["-0.3", "1.3", "87.5"])
def test_values_far_outside_the_range_are_not_blendshape_weights(tmp_path, value):
    assert not -MAX_OVERSHOOT <= float(value) <= 1 + MAX_OVERSHOOT
    path = _edit(tmp_path, 4, ",0.202,", f",{value},")
    with pytest.raises(
        ValueError, match=rf"line 4: column 'MouthFunnel' holds {value}, outside the blendshape range"
    ):
        read_livelink_csv(path)


def test_missing_blendshape_and_empty_files(tmp_path):
    lines = (FIXTURES / "take_60fps.csv").read_text().splitlines()
    cut = [",".join(c for k, c in enumerate(ln.split(",")) if k != 53) for ln in lines]  # drop TongueOut
    (tmp_path / "a.csv").write_text("\n".join(cut) + "\n")
    with pytest.raises(ValueError, match=r"line 1: missing blendshape column\(s\) \['TongueOut'\]"):
        read_livelink_csv(tmp_path / "a.csv")
    (tmp_path / "b.csv").write_text(lines[0] + "\n")
    with pytest.raises(ValueError, match="no data rows"):
        read_livelink_csv(tmp_path / "b.csv")
    (tmp_path / "c.csv").write_text("")
    with pytest.raises(ValueError, match="empty file"):
        read_livelink_csv(tmp_path / "c.csv")
    with pytest.raises(ValueError, match=r"line 2: frame 57\.207 is not below the timecode rate 30"):
        read_livelink_csv(FIXTURES / "take_60fps.csv", timecode_rate=30)


def test_writer_rejects_bad_input(tmp_path):
    x, _ = random_take(40)
    out = tmp_path / "x.csv"
    with pytest.raises(ValueError, match=r"shape \(T, 52\)"):
        write_livelink_csv(out, x[:, :51])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        write_livelink_csv(out, x * 2)
    with pytest.raises(ValueError, match="finite"):
        write_livelink_csv(out, np.where(x > 0.5, np.nan, x))
    with pytest.raises(ValueError, match=r"fps must be in \(0, 60\]"):
        write_livelink_csv(out, x, fps=120)
    with pytest.raises(ValueError, match=r"shape \(T, 9\)"):
        write_livelink_csv(out, x, rotations=np.zeros((40, 6)))
    with pytest.raises(ValueError, match="count_column"):
        write_livelink_csv(out, x, count_column="Count")
    with pytest.raises(ValueError, match="FF runs 0-29"):
        write_livelink_csv(out, x, fps=30, start_timecode="00:00:00:45.000")
    with pytest.raises(ValueError, match="start_timecode"):
        write_livelink_csv(out, x, start_timecode="noon")


# --- resampling -----------------------------------------------------------------------------------
def test_resample_30_60_30_is_exact():
    x, _ = random_take(91, seed=3)
    up = resample_blendshapes(x, 30, 60)
    assert up.shape == (181, 52) and up.dtype == np.float32
    np.testing.assert_array_equal(up[::2], x)
    np.testing.assert_allclose(up[1::2], (x[:-1].astype(np.float64) + x[1:]) / 2, atol=1e-7)
    np.testing.assert_array_equal(resample_blendshapes(up, 60, 30), x)


def test_resample_general_rates_interpolate_linearly():
    x = np.linspace(0, 1, 26, dtype=np.float32)[:, None].repeat(3, axis=1)  # 1 s at 25 fps
    y = resample_blendshapes(x, 25, 30)
    assert y.shape == (31, 3)
    np.testing.assert_allclose(y[:, 0], np.interp(np.arange(31) / 30, np.arange(26) / 25, x[:, 0]), atol=1e-6)
    z = resample_blendshapes(np.arange(5, dtype=np.float32), 59.94, 29.97)
    np.testing.assert_array_equal(z, [0, 2, 4])
    with pytest.raises(ValueError, match="fps"):
        resample_blendshapes(x, 0, 30)
    with pytest.raises(ValueError, match="shape"):
        resample_blendshapes(np.zeros((0, 52)), 30, 60)


def test_take_resample_uses_recorded_times(tmp_path):
    x = np.tile(np.linspace(0, 1, 121, dtype=np.float32)[:, None], (1, 52))
    take = read_livelink_csv(
        write_livelink_csv(tmp_path / "take.csv", x, fps=60, start_timecode="00:00:01:40")
    )
    at30 = take.resample(30)
    assert len(at30) == 61 and at30.fps == 30 and at30.timecode_rate == 30
    assert at30.start_timecode == "00:00:01:20.000" and at30.timecodes[10] == "00:00:02:00.000"
    np.testing.assert_array_equal(at30.blendshapes, x[::2])


# --- JSON -----------------------------------------------------------------------------------------
def test_json_round_trip_is_exact(tmp_path):
    x, _ = random_take(37, seed=4)
    doc = to_json(x, 30, path=tmp_path / "take.json")
    assert doc["fps"] == 30 and doc["frames"] == 37 and doc["names"] == list(ARKIT_NAMES)
    assert len(doc["blendshapes"]["jawOpen"]) == 37
    on_disk = json.loads((tmp_path / "take.json").read_text())
    assert on_disk == doc
    for source in (tmp_path / "take.json", str(tmp_path / "take.json"), doc, json.dumps(doc)):
        y, fps = from_json(source)
        assert fps == 30
        np.testing.assert_array_equal(y.view(np.uint32), x.view(np.uint32))


def test_json_livelink_names(tmp_path):
    x, _ = random_take(5)
    doc = to_json(x, 59.94, names="livelink")
    assert doc["names"] == list(LIVELINK_NAMES) and list(doc["blendshapes"]) == list(LIVELINK_NAMES)
    np.testing.assert_array_equal(np.float32(doc["blendshapes"]["JawLeft"]), x[:, INDEX["jawLeft"]])
    y, fps = from_json(doc)
    assert fps == 59.94
    np.testing.assert_array_equal(y, x)


def test_json_rejects_bad_documents():
    x, _ = random_take(3)
    doc = to_json(x, 30)
    with pytest.raises(ValueError, match="names must be one of"):
        to_json(x, 30, names="mediapipe")
    with pytest.raises(ValueError, match="fps"):
        to_json(x, -1)
    missing = {**doc, "blendshapes": {k: v for k, v in doc["blendshapes"].items() if k != "tongueOut"}}
    with pytest.raises(ValueError, match=r"missing blendshape\(s\) \['tongueOut'\]"):
        from_json(missing)
    with pytest.raises(ValueError, match="differ in length"):
        from_json({**doc, "blendshapes": {**doc["blendshapes"], "jawOpen": [0.1]}})
    with pytest.raises(ValueError, match="unknown ARKit blendshape"):
        from_json({**doc, "blendshapes": {**doc["blendshapes"], "jawWide": [0, 0, 0]}})
    with pytest.raises(ValueError, match='"frames" says 4'):
        from_json({**doc, "frames": 4})
    with pytest.raises(ValueError, match="not valid JSON"):
        from_json("{not json")
