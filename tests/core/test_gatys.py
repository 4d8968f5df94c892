from nstvideo.core.gatys import GatysConfig, style_and_content_losses, stylize_gatys


def test_gatys_paints_a_real_photo(photo, painting, vgg):
    """128 px, 25 L-BFGS steps on japanese_garden x Picasso 1907: the style loss falls at least 4x
    while the content stays recognisable (content loss far below that of the painting itself)."""
    config = GatysConfig(size=128, steps=25)
    before = style_and_content_losses(photo, photo, painting, vgg, 128)
    seen = []
    out = stylize_gatys(photo, painting, vgg, config, on_step=lambda i, l: seen.append(i))
    after = style_and_content_losses(out, photo, painting, vgg, 128)
    assert seen == list(range(1, 26))
    assert out.shape == photo.shape
    assert after["style"] < before["style"] / 4, (before, after)
    import cv2
    flat = cv2.resize(painting, photo.shape[1::-1])  # the painting in the photo's frame: "no content at all"
    unrelated = style_and_content_losses(flat, photo, painting, vgg, 128)
    assert after["content"] < unrelated["content"] / 2, (after, unrelated)


def test_preserve_color_keeps_the_photo_palette(photo, painting, vgg):
    import numpy as np
    out = stylize_gatys(photo, painting, vgg, GatysConfig(size=128, steps=5, preserve_color=True))
    free = stylize_gatys(photo, painting, vgg, GatysConfig(size=128, steps=5))
    import cv2
    chroma = lambda im: cv2.cvtColor(im, cv2.COLOR_BGR2YCrCb)[..., 1:].astype(float)
    assert np.abs(chroma(out) - chroma(photo)).mean() < np.abs(chroma(free) - chroma(photo)).mean()
