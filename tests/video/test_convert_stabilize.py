"""convert --stabilize on a real clip: measured flicker goes down against plain conversion."""
from nstvideo.cli import main
from nstvideo.video.temporal import evaluate_videos


def test_stabilized_conversion_of_a_real_clip_flickers_less(video_dir, tmp_path):
    src = video_dir / "person_walking_room.mp4"  # 100 frames
    outputs = {}
    for name, extra in (("plain", []), ("stable", ["--stabilize"])):
        outputs[name] = tmp_path / f"{name}.mp4"
        code = main(["convert", str(src), "--style", "starry_night", "--output", str(outputs[name]),
                     "--max-side", "160", "--preset", "ultrafast", "--device", "cpu", "--runtime", "torch",
                     "--batch-size", "8", *extra])
        assert code == 0
    plain = evaluate_videos(src, outputs["plain"], max_frames=40).report
    stable = evaluate_videos(src, outputs["stable"], max_frames=40).report
    assert stable.warping_error < 0.7 * plain.warping_error
