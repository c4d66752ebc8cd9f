"""The one generation API's hooks: features cached per image, ``_decode`` on chunks for sliders,
``_decode_clip`` for a method that renders a whole clip at once."""

import numpy as np
import torch

from i2vlib.api import Model


class Recorder(Model):
    """A model whose frames are filled with their intensity; it records how it was asked."""

    method, expressions, image_size, batch_size = "recorder", ("happy",), 32, 16

    def __init__(self):
        super().__init__({"expressions": ["happy"], "image_size": 32})
        self.encodes, self.decodes = 0, []

    def _encode(self, x, expressions):
        self.encodes += 1
        return x

    def _decode(self, feats, a):
        self.decodes.append(len(a["happy"]))
        return a["happy"].view(-1, 1, 1, 1).expand(-1, 3, 32, 32) * 2 - 1


class WholeClip(Recorder):
    """A refiner-like model: every frame depends on the whole clip (here: the clip's mean intensity)."""

    def _decode_clip(self, feats, a):
        self.decodes.append(len(a["happy"]))
        return a["happy"].mean().expand(len(a["happy"]), 3, 32, 32) * 2 - 1


FACE = np.full((32, 32, 3), 128, np.uint8)


def test_sliders_decode_in_chunks_and_encode_each_image_once():
    model = Recorder()
    frames = model.generate(FACE, list(np.linspace(0, 1, 40)))
    assert frames.shape == (40, 32, 32, 3) and model.decodes == [16, 16, 8]
    model.generate(FACE, [0.5])
    assert model.encodes == 1 and model.decodes[-1] == 1          # a slider step: one decoder pass
    assert np.all(model.generate(FACE, [1.0]) == 255)


def test_a_whole_clip_method_sees_every_frame_in_one_call():
    model = WholeClip()
    frames = model.generate(FACE, list(np.linspace(0, 1, 40)), as_tensor=True)
    assert model.decodes == [40] and frames.shape == (40, 3, 32, 32)
    assert torch.allclose(frames, torch.zeros(()), atol=1e-6)      # every frame saw the clip's mean, 0.5
