"""Rendering and export: grids, GIF/MP4/PNG files with a JSON sidecar, animations, scrubbers.

Frames everywhere are ``T x H x W x 3`` uint8 arrays. Every function here also accepts a
list of ``H x W x 3`` arrays, float arrays in ``[0, 1]``, integer arrays in ``[0, 255]`` and
one-channel frames (``T x H x W x 1``), and converts them with :func:`as_frames`.
Anything else (an empty sequence, frames of different sizes, NaN, channels-first
tensors) is an :class:`~i2vlib.errors.I2VError` with a one-line message.

One module per concern, all names re-exported here (``from i2vlib import render``):

* :mod:`i2vlib.data.video` -- :func:`as_frames`, :func:`read_video` and :func:`read_sidecar` (what
  :func:`save_video` writes; a video and its sidecar must agree).
* :mod:`.frames` -- :func:`intensity_labels`.
* :mod:`.files` -- :func:`save_video` (``.gif``, ``.mp4`` or a folder of PNGs, each with
  a JSON sidecar, written atomically, the two as one unit), :func:`sidecar_path`,
  :func:`download_link`, :func:`check_destination` (before rendering).
* :mod:`.grid` -- :func:`frame_grid`: labelled grids of frames with Pillow; :func:`show_grid` draws one at twice its
  pixels.
* :mod:`.names` -- :func:`arm_name`: the arms of the experiment's tables in words, for figures and tables.
* :mod:`.sheets` -- :func:`contact_sheet`, :func:`pose_contact_sheet`: the two benchmarks at a glance.
* :mod:`.figures` -- matplotlib: :func:`show_frames`, :func:`animation`,
  :func:`to_jshtml` (plays with no kernel), :func:`plot_losses` (training curves).
* :mod:`.scrub` -- :func:`scrubber` / :class:`Scrubber`: a static HTML+JS intensity
  slider that works with no kernel (the published book).
* :mod:`.widgets` -- :func:`live_slider` / :func:`live_mixer`: ipywidgets sliders that
  call the model (readers with a kernel).
* :mod:`.source` -- :func:`source_code` and :func:`loss_table`: the library's own code and a
  method's loss terms, read at run time and shown in a chapter.
* :mod:`.chapter` -- :func:`setup`, :func:`show_claims`, :func:`compare`: what every chapter does the same way (its
  setup cell, its claims table, the words that compare two measured numbers).
* :mod:`.findings` -- what the book found: every count from one place, each claim in words, each paper's conclusion
  (the verdicts page; the intro and the overviews paste them).

matplotlib, ipywidgets, IPython and imageio-ffmpeg are imported only by the functions that need
them, so ``import i2vlib.render`` stays cheap (the CLI saves GIFs without matplotlib).
"""

from ..data.video import as_frames, read_sidecar, read_video
from .chapter import compare, number, setup, show_claims, show_facts, show_models, show_table
from .figures import alt, animation, plot_losses, show_frames, to_jshtml
from .files import check_destination, download_link, save_video, sidecar_path
from .frames import intensity_labels
from .grid import frame_grid, show_grid
from .names import arm_name
from .scrub import Scrubber, scrubber
from .sheets import contact_sheet, pose_contact_sheet
from .source import loss_table, source_code
from .widgets import live_mixer, live_slider

__all__ = [
    "as_frames",
    "save_video",
    "check_destination",
    "read_video",
    "sidecar_path",
    "read_sidecar",
    "download_link",
    "frame_grid",
    "show_grid",
    "arm_name",
    "contact_sheet",
    "pose_contact_sheet",
    "intensity_labels",
    "show_frames",
    "alt",
    "animation",
    "to_jshtml",
    "Scrubber",
    "scrubber",
    "live_slider",
    "live_mixer",
    "plot_losses",
    "source_code",
    "loss_table",
    "setup",
    "show_claims",
    "show_facts",
    "show_models",
    "show_table",
    "compare",
    "number",
]
