"""The warping error (Lai et al. 2018) on synthetic motion with known answers, and on real clips."""
import cv2
import numpy as np
import pytest

from nstvideo.core import temporal
from nstvideo.core.errors import InputError
from nstvideo.core.gatys import style_and_content_losses

H, W = 120, 160


@pytest.fixture(scope="module")
def garden(data_dir):
    from nstvideo.core.images import read_image
    return read_image(data_dir / "content" / "japanese_garden.jpg")  # 960x498, textured


def panning(image, frames=6, dx=3, dy=1, paint=lambda im: im):
    """A camera panning over a real photo by (dx, dy) px per frame; ``paint`` is applied to the whole photo
    first, so its output moves exactly with the content."""
    painted = paint(image)
    return [painted[40 + t * dy:40 + t * dy + H, 100 + t * dx:100 + t * dx + W].copy() for t in range(frames)]


def false_colour(image):
    return cv2.applyColorMap(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLORMAP_JET)


def test_an_output_that_moves_with_the_content_has_near_zero_error_and_random_frames_a_large_one(garden):
    originals = panning(garden)
    moving = temporal.warping_error(originals, panning(garden, paint=false_colour))
    rng = np.random.default_rng(0)
    noise = temporal.warping_error(originals, [rng.integers(0, 256, f.shape, np.uint8) for f in originals])
    assert moving < 0.005
    assert noise > 0.12  # uniform noise: E[(u - v)^2] = 1/6
    assert noise > 30 * moving


def test_flicker_on_a_still_scene_gives_the_squared_step(garden):
    still = [garden[100:100 + H, 200:200 + W].copy()] * 5
    step = 20
    flicker = [cv2.add(f, np.full_like(f, step)) if t % 2 else f for t, f in enumerate(still)]
    report = temporal.evaluate(zip(still, flicker))
    expected = np.mean([((cv2.add(f, np.full_like(f, step)).astype(float) - f) / 255) ** 2 for f in still[:1]])
    assert report.warping_error == pytest.approx(expected, rel=0.02)
    assert report.frames == 5 and len(report.pair_errors) == 4
    assert temporal.warping_error(still, still) < 1e-6


def test_an_object_appearing_is_occluded_and_does_not_count(garden):
    rng = np.random.default_rng(1)
    block = rng.integers(0, 256, (40, 40, 3), np.uint8)

    def appear(frames):
        frames = [f.copy() for f in frames]
        for f in frames[3:]:
            f[40:80, 60:100] = block
        return frames

    originals, outputs = appear(panning(garden)), appear(panning(garden, paint=false_colour))
    forward, backward = temporal.flows(temporal.make_flow(), originals[2], originals[3])
    occluded = temporal.occlusion_mask(forward, backward)
    assert occluded[40:80, 60:100].mean() > 0.8 and occluded.mean() < 0.25
    unmasked = temporal.pair_warping_error(outputs[2], outputs[3], forward, None)
    masked = temporal.pair_warping_error(outputs[2], outputs[3], forward, occluded)
    plain = temporal.warping_error(panning(garden), panning(garden, paint=false_colour))
    assert masked < 2 * plain and unmasked > 4 * masked
    assert temporal.warping_error(originals, outputs) < 2 * plain


def test_fidelity_and_style_loss(garden, vgg, data_dir):
    from nstvideo.core.images import read_image
    originals = panning(garden, frames=3)
    painted = panning(garden, frames=3, paint=false_colour)
    painting = read_image(data_dir / "styles" / "udnie.jpg")
    report = temporal.evaluate(zip(originals, painted), reference=false_colour, vgg=vgg, painting=painting)
    assert report.fidelity == 0.0
    direct = np.mean([style_and_content_losses(p, o, painting, vgg, style_side=W)["style"]
                      for p, o in zip(painted, originals)])
    assert report.style_loss == pytest.approx(direct, rel=1e-4)
    grey = temporal.evaluate(zip(originals, originals), reference=false_colour)
    assert 0.1 < grey.fidelity < 1 and grey.style_loss is None


def test_bad_frame_sequences_are_one_line_errors(garden):
    frame = garden[:H, :W].copy()
    with pytest.raises(InputError, match="at least 2 frames"):
        temporal.warping_error([frame], [frame])
    with pytest.raises(InputError, match="same size"):
        temporal.warping_error([frame, frame], [frame, frame[:, :-2].copy()])


def _write(path, frames):
    from nstvideo.video.frame import Frame
    from nstvideo.video.writer import VideoWriter
    with VideoWriter(path, size=(frames[0].shape[1], frames[0].shape[0]), crf=0, preset="ultrafast") as writer:
        for i, image in enumerate(frames):
            writer.write(Frame(image, i / 15, i))
    return path


def test_videos_are_paired_in_order_shrunk_originals_and_count_mismatch(tmp_path, garden):
    from nstvideo.video.temporal import evaluate_videos
    originals = panning(garden, frames=8)
    original = _write(tmp_path / "original.mp4", originals)
    small = _write(tmp_path / "small.mp4", [cv2.resize(f, (W // 2, H // 2), interpolation=cv2.INTER_AREA)
                                            for f in originals])
    job = evaluate_videos(original, small)
    assert job.report.frames == 8 and job.size == (W // 2, H // 2) and "shrunk" in job.notes[0]
    assert job.report.warping_error < 0.005
    short = _write(tmp_path / "short.mp4", originals[:5])
    with pytest.raises(InputError, match="has 8 frames but .* has 5"):
        evaluate_videos(original, short)
    assert evaluate_videos(original, short, max_frames=4).report.frames == 4
    with pytest.raises(InputError, match="is 160x120 but"):
        evaluate_videos(original, _write(tmp_path / "square.mp4", [f[:, :H].copy() for f in originals]))
