"""Image augmentations for the data code, in numpy on whole batches."""
import numpy as np


def rotate(images, degrees, rng):
    """Each image of ``images`` ``(n, C, H, W)`` float32 turned about its centre by its own angle drawn uniformly
    from ``[-degrees, degrees]`` (see :func:`rotate_by`). Returns a new array."""
    return rotate_by(images, rng.uniform(-degrees, degrees, len(images)))


def rotate_by(images, degrees):
    """``images`` ``(n, C, H, W)`` float32, image ``i`` turned counter-clockwise about its centre by ``degrees[i]``
    (90 is ``np.rot90`` over the last two axes), sampled bilinearly, zeros outside the image. Returns a new
    array."""
    n, c, h, w = images.shape
    angle = np.deg2rad(np.asarray(degrees, np.float64)).astype(np.float32)
    cos, sin = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    y, x = np.meshgrid(np.arange(h, dtype=np.float32) - cy, np.arange(w, dtype=np.float32) - cx, indexing="ij")
    # where each output pixel comes from: the output grid turned back by the angle
    sy, sx = cos * y + sin * x + cy, -sin * y + cos * x + cx               # (n, H, W)
    y0, x0 = np.floor(sy).astype(np.int64), np.floor(sx).astype(np.int64)
    fy, fx = (sy - y0)[:, None], (sx - x0)[:, None]
    batch = np.arange(n)[:, None, None, None]
    chan = np.arange(c)[None, :, None, None]

    def at(yy, xx):  # the pixels at (yy, xx), zero where that falls outside the image
        inside = ((yy >= 0) & (yy < h) & (xx >= 0) & (xx < w))[:, None]
        return images[batch, chan, np.clip(yy, 0, h - 1)[:, None], np.clip(xx, 0, w - 1)[:, None]] * inside
    out = ((1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1))
           + fy * ((1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1)))
    return out.astype(np.float32)
