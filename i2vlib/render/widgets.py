"""ipywidgets sliders that call the model on every move (readers with a live kernel).

ipywidgets is imported inside each function, so importing :mod:`i2vlib.render` stays cheap.
"""

from __future__ import annotations

import html

from ..errors import I2VError
from ..io import as_image, png_bytes
from ..lru import LRU


class _RenderCache:
    """Remember the last few rendered PNGs, so scrubbing back and forth costs nothing."""

    def __init__(self, render_fn, size: int = 64):
        self.render_fn, self.store = render_fn, LRU(size)

    def __call__(self, key, arg) -> bytes:
        return self.store.remember(
            key, lambda: png_bytes(as_image(self.render_fn(arg), "render_fn output", convert=True)))


def _slider(widgets, a_min, a_max, step, value, description):
    return widgets.FloatSlider(value=value, min=a_min, max=a_max, step=step, description=str(description),
                               continuous_update=True, readout_format=".2f")


def live_slider(render_fn, a_min: float = 0.0, a_max: float = 1.0, step: float = 0.05, value: float = 0.0,
                description: str = "a"):
    """An ipywidgets intensity slider that re-renders on every move (needs a live kernel).

    ``render_fn(a) -> H x W x 3`` image. Returns a ``VBox`` of the ``FloatSlider``, the
    ``Image`` (PNG) and a status line that shows an error from ``render_fn`` instead of
    losing it; also reachable as ``box.slider`` and ``box.image``. Rendered intensities are
    cached, so moving back over them is instant.
    """
    import ipywidgets as widgets

    slider = _slider(widgets, a_min, a_max, step, value, description)
    cache = _RenderCache(render_fn)
    image = widgets.Image(format="png")
    status = widgets.HTML(value="")

    def update(_change=None):
        a = float(slider.value)
        _show(image, status, lambda: cache(round(a, 6), a))

    slider.observe(update, names="value")
    update()
    box = widgets.VBox([slider, image, status])
    box.slider, box.image, box.status = slider, image, status
    return box


def live_mixer(render_fn, names, a_min: float = 0.0, a_max: float = 1.0, step: float = 0.05, value: float = 0.0):
    """One ipywidgets slider per expression; ``render_fn({name: a, ...}) -> image``.

    Returns a ``VBox`` (sliders, image, status line); ``box.sliders`` maps each name to
    its slider and ``box.image`` is the ``Image`` widget.
    """
    import ipywidgets as widgets

    names = [str(n) for n in names]
    if not names:
        raise I2VError("live_mixer needs at least one expression name")
    if len(set(names)) != len(names):
        raise I2VError(f"live_mixer got repeated names: {names}")
    sliders = {n: _slider(widgets, a_min, a_max, step, value, n) for n in names}
    cache = _RenderCache(render_fn)
    image = widgets.Image(format="png")
    status = widgets.HTML(value="")

    def update(_change=None):
        mix = {n: float(s.value) for n, s in sliders.items()}
        _show(image, status, lambda: cache(tuple(round(v, 6) for v in mix.values()), dict(mix)))

    for s in sliders.values():
        s.observe(update, names="value")
    update()
    box = widgets.VBox([*sliders.values(), image, status])
    box.sliders, box.image, box.status = sliders, image, status
    return box


def _show(image, status, render) -> None:
    """Put ``render()``'s PNG into ``image``; an error goes to the status line instead."""
    try:
        image.value = render()
        status.value = ""
    except Exception as e:  # noqa: BLE001 -- a slider callback's traceback would be lost
        msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
        status.value = f'<span style="color:#b00">{html.escape(type(e).__name__ + (": " + msg if msg else ""))}</span>'
