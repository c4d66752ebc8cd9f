"""On-disk layouts: the AffineGAN folder layout (read and write), CK+, MUG, videos, photos.

Every reader returns a :class:`FolderDataset`: a lazy sequence of :class:`~i2vlib.clip_record.Clip`
that scans the folder once and reads a clip's frames only when the clip is accessed.

* :mod:`.dataset` -- :class:`ClipRef`, :class:`FolderDataset`, :func:`natural_key`.
* :mod:`.affinegan` -- :func:`write_affinegan`, :func:`read_affinegan` (``<root>/<expression>/<split>/img/...``).
* :mod:`.readers` -- :func:`read_ckplus`, :func:`read_mug`, :func:`read_video_folder`.
* :mod:`.detect` -- :func:`detect_layout`, :func:`open_dataset` (any of the above).
* :mod:`.pose_layout` -- :func:`write_pose`: the pose benchmark's frames, joints and index.
"""

from .affinegan import FORMAT, VERSION, read_affinegan, write_affinegan
from .dataset import ClipRef, FolderDataset, natural_key
from .detect import LAYOUTS, detect_layout, open_dataset
from .pose_layout import write_pose
from .readers import (CKPLUS_EMOTIONS, MUG_EXPRESSIONS, UNLABELLED, VIDEO_SUFFIXES, read_ckplus, read_mug,
                      read_video_folder)

__all__ = [
    "ClipRef",
    "FolderDataset",
    "natural_key",
    "write_affinegan",
    "read_affinegan",
    "read_ckplus",
    "read_mug",
    "read_video_folder",
    "detect_layout",
    "open_dataset",
    "write_pose",
    "LAYOUTS",
    "FORMAT",
    "VERSION",
    "UNLABELLED",
    "CKPLUS_EMOTIONS",
    "MUG_EXPRESSIONS",
    "VIDEO_SUFFIXES",
]
