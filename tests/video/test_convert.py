"""Batch conversion: frames, timestamps, audio and rotation kept; bad inputs fail alone and leave nothing."""
from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from nstvideo.cli import main
from nstvideo.core.errors import DecodeError, InputError, OutputExistsError
from nstvideo.core.images import resize_max_side
from nstvideo.video.convert import ConvertConfig, convert_file, convert_files, output_size, probe


def config(inputs, style, **kwargs) -> ConvertConfig:
    kwargs.setdefault("preset", "ultrafast")
    kwargs.setdefault("device", "cpu")
    return ConvertConfig(inputs=tuple(inputs), style=style, **kwargs)


def leftovers(folder: Path) -> list[Path]:
    return list(folder.glob(".*partial*"))


def test_clip_with_aac_audio_keeps_frames_duration_and_audio(make_clip, random_style, tmp_path, read_back):
    src = make_clip("tone.mp4", frames=20, rate=15, audio="aac")
    out = tmp_path / "out.mp4"
    summary = convert_files(config([src], random_style, output=out))
    assert summary.ok and summary.written == {src: out}
    before, after = read_back(src), read_back(out)
    assert len(after["times"]) == len(before["times"]) == 20
    assert after["times"] == pytest.approx(before["times"], abs=1e-6)
    assert after["video_duration"] == pytest.approx(before["video_duration"], abs=1 / 15)
    assert after["audio_codec"] == "aac"  # copied, not re-encoded
    assert after["audio_duration"] == pytest.approx(before["audio_duration"], abs=1e-3)
    assert after["pix_fmt"] == "yuv420p" and after["size"] == before["size"]
    assert not leftovers(tmp_path)


def test_audio_the_container_cannot_take_is_reencoded_to_aac(make_clip, random_style, tmp_path, read_back):
    src = make_clip("pcm.mkv", frames=15, rate=15, audio="pcm_s16le")
    out = tmp_path / "out.mp4"
    assert convert_files(config([src], random_style, output=out)).ok
    before, after = read_back(src), read_back(out)
    assert before["audio_codec"] == "pcm_s16le" and after["audio_codec"] == "aac"
    assert after["audio_duration"] == pytest.approx(before["audio_duration"], abs=2048 / 48_000)
    assert len(after["times"]) == 15


def test_variable_frame_rate_timestamps_survive(make_clip, random_style, tmp_path, read_back):
    times = [0.0, 0.04, 0.05, 0.2, 0.21, 0.5, 0.51, 0.9]
    src = make_clip("vfr.mp4", timestamps=times)
    out = tmp_path / "vfr_out.mp4"
    convert_file(src, out, _stylizer(random_style), config([src], random_style, output=out))
    assert read_back(out)["times"] == pytest.approx(times, abs=1e-4)


def test_odd_size_survives_padded_to_even(make_clip, random_style, tmp_path, read_back):
    src = make_clip("odd.mp4", size=(321, 241), frames=3)
    out = tmp_path / "odd_out.mp4"
    assert convert_files(config([src], random_style, output=out)).ok
    after = read_back(out)
    assert after["size"] == (322, 242) and after["pix_fmt"] == "yuv420p" and len(after["times"]) == 3


def test_rotation_metadata_is_kept(make_clip, random_style, tmp_path, read_back):
    src = make_clip("rotated.mp4", frames=4, rotation=90)
    assert probe(src).rotation == 90
    out = tmp_path / "rotated_out.mp4"
    assert convert_files(config([src], random_style, output=out)).ok
    assert read_back(out)["rotation"] == 90


def test_max_side_shrinks_and_strength_zero_is_the_input(make_clip, random_style, tmp_path, read_back):
    from nstvideo.core.stylize import StyleOptions

    src = make_clip("big.mp4", size=(128, 96), frames=4)
    out = tmp_path / "small.mp4"
    cfg = config([src], random_style, output=out, max_side=64, crf=0, options=StyleOptions(strength=0.0))
    assert convert_files(cfg).ok
    after = read_back(out)
    assert after["size"] == (64, 48)
    import cv2
    expected = cv2.resize(read_back(src)["first_image"], (64, 48), interpolation=cv2.INTER_AREA)
    # crf 0 is lossless in YUV; only the BGR<->yuv420p round trip differs
    assert np.abs(after["first_image"].astype(int) - expected).mean() < 6


def test_bad_inputs_fail_alone_and_leave_nothing(make_clip, random_style, tmp_path, video_dir):
    good = make_clip("good.mp4", frames=6)
    data = (video_dir / "pancake_kitchen.mp4").read_bytes()
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(data[: len(data) // 2])  # the index survives, half the frames do not
    cut_short = tmp_path / "cut_short.mp4"
    cut_short.write_bytes(data[: int(len(data) * 0.9)])
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    missing = tmp_path / "missing.mp4"
    out_dir = tmp_path / "out"
    done = []
    summary = convert_files(config([truncated, text, good, cut_short, missing], random_style, out_dir=out_dir,
                                   max_side=48), on_done=lambda s, r: done.append(s))
    assert summary.written == {good: out_dir / "good_random.mp4"}
    assert set(summary.failed) == {truncated, text, cut_short, missing} and not summary.ok
    assert done == [truncated, text, good, cut_short, missing]
    assert isinstance(summary.failed[truncated], DecodeError) and "truncated" in str(summary.failed[truncated])
    assert isinstance(summary.failed[cut_short], DecodeError)
    assert isinstance(summary.failed[text], DecodeError) and "not a video" in str(summary.failed[text])
    assert type(summary.failed[missing]) is InputError
    assert sorted(p.name for p in out_dir.iterdir()) == ["good_random.mp4"]  # no partial files either


def test_existing_output_is_not_overwritten(make_clip, random_style, tmp_path):
    src = make_clip(frames=3)
    out = tmp_path / "exists.mp4"
    out.write_bytes(b"precious")
    summary = convert_files(config([src], random_style, output=out))
    assert isinstance(summary.failed[src], OutputExistsError) and out.read_bytes() == b"precious"
    assert convert_files(config([src], random_style, output=out, overwrite=True)).ok
    assert out.read_bytes() != b"precious" and not leftovers(tmp_path)


def test_inputs_with_the_same_output_name_never_overwrite_each_other(make_clip, random_style, tmp_path,
                                                                        read_back):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
    first = make_clip("a/clip.mp4", frames=3)
    second = make_clip("b/clip.mp4", frames=5)
    other = make_clip("other.mp4", frames=2)
    out_dir = tmp_path / "out"
    done = []
    summary = convert_files(config([first, second, other], random_style, out_dir=out_dir, overwrite=True),
                            on_done=lambda s, r: done.append(s))
    assert summary.written == {first: out_dir / "clip_random.mp4", other: out_dir / "other_random.mp4"}
    error = summary.failed[second]
    assert type(error) is InputError and error.path == second
    assert str(first) in str(error) and "rename" in str(error) and "\n" not in str(error)
    assert done == [first, second, other]
    assert len(read_back(out_dir / "clip_random.mp4")["times"]) == 3  # the first input's, not the second's


def test_each_input_is_opened_twice_and_its_frame_count_announced(make_clip, random_style, tmp_path,
                                                                   monkeypatch):
    sources = [make_clip("one.mp4", frames=4), make_clip("two.mp4", frames=6)]
    opened: list[str] = []
    real_open = av.open

    def counting_open(file, *args, **kwargs):
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(av, "open", counting_open)
    started = []
    summary = convert_files(config(sources, random_style, out_dir=tmp_path / "out"),
                            on_start=lambda s, n: started.append((s, n)))
    assert summary.ok and started == [(sources[0], 4), (sources[1], 6)]
    # probe + convert; the output is opened for writing under a temporary name
    assert [opened.count(str(s)) for s in sources] == [2, 2]


@pytest.mark.parametrize("max_side", [None, 1, 2, 3, 7, 48, 64, 100, 321, 1000])
def test_output_size_matches_resize_max_side(max_side):
    for width, height in [(1, 1), (2, 1), (64, 48), (321, 241), (426, 240), (241, 321), (1920, 1080),
                          (1000, 3), (3, 1000), (999, 333), (5, 7)]:
        image = np.zeros((height, width, 1), np.uint8)
        h, w = resize_max_side(image, max_side).shape[:2]
        assert output_size(width, height, max_side) == (w, h), (width, height, max_side)


def test_cancel_leaves_no_file(make_clip, random_style, tmp_path):
    src = make_clip(frames=12)
    out = tmp_path / "cancelled.mp4"
    calls = []
    summary = convert_files(config([src], random_style, output=out, batch_size=2),
                            should_stop=lambda: calls.append(1) or len(calls) > 2)
    assert summary.cancelled and not summary.written and not out.exists() and not leftovers(tmp_path)


def test_a_failure_while_painting_ends_all_three_stages_and_leaves_nothing(make_clip, random_style, tmp_path):
    """Decoding, painting and encoding run on their own threads: an error on one ends them all."""
    import threading

    from nstvideo.core.stylize import Stylizer

    class Failing:
        def __init__(self):
            self.stylizer, self.calls = Stylizer.from_style(random_style, "cpu", runtime="torch"), 0

        def stylize_images(self, images, options):
            self.calls += 1
            if self.calls == 3:
                raise RuntimeError("out of memory (a test)")
            return self.stylizer.stylize_images(images, options)

    src, out = make_clip(frames=40), tmp_path / "failed.mp4"
    with pytest.raises(RuntimeError, match="a test"):
        convert_file(src, out, Failing(), config([src], random_style, output=out, batch_size=2))
    assert not out.exists() and not leftovers(tmp_path)
    assert not [t.name for t in threading.enumerate() if t.name.startswith("nstvideo-convert")]


def test_config_rejects_ambiguous_targets(tmp_path):
    with pytest.raises(ValueError):
        ConvertConfig(inputs=(tmp_path / "a.mp4",), style="x")
    with pytest.raises(ValueError):
        ConvertConfig(inputs=(tmp_path / "a.mp4", tmp_path / "b.mp4"), style="x", output=tmp_path / "o.mp4")


def test_cli_converts_a_real_clip_with_its_audio(capsys, video_dir, random_style, tmp_path, read_back):
    src = video_dir / "pancake_kitchen.mp4"
    out = tmp_path / "pancake.mp4"
    code = main(["convert", str(src), "--style", str(random_style), "--output", str(out), "--max-side", "48",
                 "--preset", "ultrafast", "--device", "cpu", "--batch-size", "8"])
    captured = capsys.readouterr()
    assert code == 0 and str(out) in captured.out
    before, after = read_back(src), read_back(out)
    assert len(after["times"]) == len(before["times"]) == 300
    assert after["times"] == pytest.approx(before["times"], abs=1e-6)
    assert after["video_duration"] == pytest.approx(before["video_duration"], abs=1 / 30)
    assert after["audio_duration"] == pytest.approx(before["audio_duration"], abs=1e-3)
    assert after["size"] == (48, 27 + 1)  # 426x240 -> 48x27, padded to an even height


def test_cli_reports_failures_and_exits_non_zero(capsys, make_clip, random_style, tmp_path):
    good = make_clip(frames=3)
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 100)
    code = main(["convert", str(bad), str(good), "--style", str(random_style), "-o", str(tmp_path / "out"),
                 "--preset", "ultrafast", "--device", "cpu"])
    _, err = capsys.readouterr()
    assert code == 1
    assert "1 of 2 videos failed" in err and str(bad) in err
    assert (tmp_path / "out" / "clip_random.mp4").exists()


def test_cli_output_file_takes_one_input(capsys, tmp_path):
    with pytest.raises(SystemExit) as exc:
        main(["convert", "a.mp4", "b.mp4", "--style", "x", "--output", str(tmp_path / "o.mp4")])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["convert", "a.mp4", "--style", "x", "--output", str(tmp_path / "o.mp4"), "--crf", "60"])
    assert exc.value.code == 2


def test_cli_o_with_a_video_name_is_that_file_and_still_images_are_sent_to_stylize(
        capsys, make_clip, random_style, tmp_path, data_dir):
    clip = make_clip(frames=2)
    out = tmp_path / "painted.mp4"
    args = ["--style", str(random_style), "--preset", "ultrafast", "--device", "cpu"]
    assert main(["convert", str(clip), "-o", str(out), *args]) == 0
    assert out.is_file()
    photo = data_dir / "content" / "lion.jpg"
    assert main(["convert", str(photo), "-o", str(tmp_path / "d"), *args]) == 1
    err = capsys.readouterr().err
    assert "nstvideo stylize" in err and err.count("error:") == 1, err  # said once, not twice
    assert not (tmp_path / "d").exists() or not any((tmp_path / "d").iterdir())


def _stylizer(style):
    from nstvideo.core.stylize import Stylizer

    return Stylizer.from_style(style, "cpu")


def test_truncated_mkv_fails_and_keep_partial_keeps_what_can_be_read(video_dir, random_style, tmp_path):
    """Matroska has no index up front: the Segment size and the declared duration tell it was cut off."""
    src = video_dir / "pancake_kitchen.mp4"
    mkv = tmp_path / "pancake.mkv"
    with av.open(str(src)) as inp, av.open(str(mkv), "w") as out:
        stream = out.add_stream_from_template(inp.streams.video[0])
        for packet in inp.demux(inp.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(mkv.read_bytes()[: mkv.stat().st_size * 4 // 10])
    out = tmp_path / "out.mp4"
    summary = convert_files(config([cut], random_style, output=out, max_side=32))
    assert "truncated" in str(summary.failed[cut]) and "--keep-partial" in str(summary.failed[cut])
    assert not out.exists() and not leftovers(tmp_path)
    summary = convert_files(config([cut], random_style, output=out, max_side=32, keep_partial=True))
    assert "incomplete" in str(summary.failed[cut]) and str(out) in str(summary.failed[cut])
    kept = probe(out)
    assert 0 < kept.frames < 300 and not leftovers(tmp_path)
    assert convert_files(config([mkv], random_style, output=tmp_path / "whole.mp4", max_side=32)).ok
