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


def test_a_photo_comes_back_as_the_photo_with_its_face_animated(caplog):
    """Any image but a model-sized crop is a photo: its face is cropped, animated and pasted back (i2vlib.faces.paste);
    a model trained on the benchmark says once, in one line, what to expect of it."""
    import skimage.data

    from i2vlib.faces.align import crop_box
    from i2vlib.faces.landmarks import get_backend

    photo = skimage.data.astronaut()
    model = Recorder()
    model.config["data"] = "synthetic"
    x0, y0, x1, y1 = crop_box(get_backend("dlib").detect(photo).landmarks, photo.shape)
    outside = np.ones(photo.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    with caplog.at_level("WARNING", logger="i2vlib"):
        frames = model.generate(photo, [0.0, 1.0])
        again = model.generate(photo, [0.5], as_tensor=True)
    assert frames.shape == (2, *photo.shape) and all(np.array_equal(f[outside], photo[outside]) for f in frames)
    assert not np.array_equal(frames[0], photo)
    assert again.shape == (1, 3, *photo.shape[:2]) and again.min() >= -1 and again.max() <= 1
    notes = [r.getMessage() for r in caplog.records]
    assert len(notes) == 1 and "synthetic benchmark" in notes[0] and "\n" not in notes[0]
    assert model.generate(photo, [1.0], paste=False).shape == (1, 32, 32, 3)
    assert model.generate(photo, [1.0], face="whole").shape == (1, 32, 32, 3)
    assert model.generate(FACE, [1.0]).shape == (1, 32, 32, 3)                   # a crop at the model's size: as it is
    assert model.animate(photo, [1.0]).box == (x0, y0, x1, y1)


def test_a_model_trained_on_a_folder_says_nothing_of_the_benchmark(caplog):
    import skimage.data

    model = Recorder()
    model.config["data"] = "/data/my-faces"
    with caplog.at_level("WARNING", logger="i2vlib"):
        model.generate(skimage.data.astronaut(), [1.0])
    assert not caplog.records
