"""A trained model as an ONNX file: ``i2v export MODEL --out MODEL.onnx``.

The book's pages run the zoo's generators in the reader's browser with onnxruntime-web; any other ONNX runtime
runs the same file. The graph is the model's :meth:`~i2vlib.api.Model.onnx_graph`:

* inputs: ``face``, the image as uint8 S x S x 3 RGB at the model's size (crop and resize it first, as
  :func:`i2vlib.api.prepare_image` does), and ``intensities``, float32 with one entry per expression the model
  knows, in the order of the file's metadata (a mix is several non-zero entries);
* output: ``frame``, uint8 S x S x 3. A method that renders a fixed clip (the ConvLSTM) takes the face alone and
  returns its ``clip``, uint8 T x S x S x 3.

The file's metadata (``i2v``, JSON) names the method, the expressions, the size, the inputs and the checkpoint.
Weights are stored in fp16 by default and computed in fp32: the zoo's files hold fp16 weights already, so for
them nothing is lost. When onnxruntime is installed, :func:`to_onnx` runs the file and refuses to write it
unless its frames equal :meth:`~i2vlib.api.Model.generate`'s within :data:`TOLERANCE` grey levels.
"""

from __future__ import annotations

import copy
import importlib
import io
import json
import warnings
from pathlib import Path

import numpy as np
import torch

from .api import Model
from .data.synthetic import SyntheticBenchmark
from .errors import I2VError
from .outputs import atomic_path, check_output
from .version import __version__

TOLERANCE = 2         # grey levels between the file's frames and generate's
WEIGHTS = ("fp16", "fp32")
OPSET = 17


def to_onnx(model, out, weights: str = "fp16") -> dict:
    """Write ``model`` (from :func:`i2vlib.load`) to ``out`` (``.onnx``) and return the file's metadata, with
    ``max_difference`` (grey levels against ``generate``; ``None`` when onnxruntime is not installed)."""
    if not isinstance(model, Model):
        raise I2VError(f"to_onnx exports a model from i2vlib.load(...), got {type(model).__name__} {model!r:.60}; "
                       "load it first")
    if weights not in WEIGHTS:
        raise I2VError(f"weights are stored as {' or '.join(WEIGHTS)}, not {weights!r}")
    check_destination(out)
    graph = model.onnx_graph()
    onnx = _require("onnx")
    net = copy.deepcopy(graph).cpu().float().eval()
    size, k = model.image_size, len(model.expressions)
    example = {"face": torch.zeros(size, size, 3, dtype=torch.uint8), "intensities": torch.zeros(k)}
    meta = {"method": model.method, "expressions": list(model.expressions), "image_size": size,
            "inputs": list(graph.inputs), "output": graph.output, "weights": weights,
            "checkpoint_hash": model.checkpoint_hash, "step": model.step, "i2vlib": __version__}
    if graph.output == "clip":
        meta["clip_intensities"] = [float(a) for a in model.supported_intensities]
    # The file is made in memory and written by Python: the exporter and onnx take a path as UTF-8 text, which a
    # name the locale could not decode (a non-ASCII name under LANG=C) is not.
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")   # the TorchScript exporter's notes on tracing and instance norm
        torch.onnx.export(net, tuple(example[n] for n in graph.inputs), buffer, input_names=list(graph.inputs),
                          output_names=[graph.output], opset_version=OPSET, dynamo=False)
    proto = onnx.load_model_from_string(buffer.getvalue())
    if weights == "fp16":
        _store_half(proto)
    proto.metadata_props.add(key="i2v", value=json.dumps(meta))
    data = proto.SerializeToString()
    meta["max_difference"] = _checked(data, model)
    with atomic_path(out) as tmp:
        tmp.write_bytes(data)
    return meta


def check_destination(out) -> Path:
    """Check before any work that ``out`` is a ``.onnx`` file that can be written."""
    if Path(out).suffix.lower() != ".onnx":
        raise I2VError(f"an ONNX model is written to a .onnx file, not {out}")
    return check_output(out, "file")


def metadata(path) -> dict:
    """The ``i2v`` metadata of an ONNX file written by :func:`to_onnx`."""
    onnx = _require("onnx")
    try:
        proto = onnx.load_model_from_string(Path(path).read_bytes())
    except Exception as e:   # noqa: BLE001 - protobuf's decode errors have no common public base
        raise I2VError(f"{path} is not an ONNX model ({type(e).__name__})") from None
    props = {p.key: p.value for p in proto.metadata_props}
    if "i2v" not in props:
        raise I2VError(f"{path} was not written by i2v export (it has no i2v metadata)")
    return json.loads(props["i2v"])


def max_difference(path, model, face=None) -> int:
    """The largest difference in grey levels between the frames of the ONNX file ``path`` (or its bytes; run by
    onnxruntime on the CPU) and ``model.generate``'s, for ``face`` (default: the benchmark's first test face) at
    a = 0, 0.5 and 1 of each expression (a clip method: its clip)."""
    ort = _require("onnxruntime")
    if face is None:
        face = SyntheticBenchmark(model.image_size).video("test", 0, curve="linear", n_frames=2).frames[0]
    data = path if isinstance(path, bytes) else Path(path).read_bytes()     # a path onnxruntime need not decode
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    if names == ["face"]:
        got = session.run(None, {"face": face})[0]
        return int(np.abs(got.astype(int) - model.generate(face, model.supported_intensities)).max())
    worst = 0
    for k, expression in enumerate(model.expressions):
        for a in (0.0, 0.5, 1.0):
            vector = np.zeros(len(model.expressions), np.float32)
            vector[k] = a
            got = session.run(None, {"face": face, "intensities": vector})[0]
            want = model.generate(face, [a], expression=expression)[0]
            worst = max(worst, int(np.abs(got.astype(int) - want).max()))
    return worst


def _checked(data: bytes, model) -> int | None:
    try:
        importlib.import_module("onnxruntime")
    except ImportError:
        return None
    worst = max_difference(data, model)
    if worst > TOLERANCE:
        raise I2VError(f"the exported frames differ from generate's by up to {worst} grey levels (at most "
                       f"{TOLERANCE} allowed); try --weights fp32")
    return worst


def _store_half(proto) -> None:
    """Store every float32 weight as float16 with a Cast back to float32 in front of its users: half the file,
    and the arithmetic stays fp32 (onnxruntime folds the casts when it loads the model)."""
    from onnx import TensorProto, helper, numpy_helper

    graph = proto.graph
    for init in list(graph.initializer):
        if init.data_type != TensorProto.FLOAT or int(np.prod(init.dims)) < 16:
            continue
        half = numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), f"{init.name}.fp16")
        graph.initializer.remove(init)
        graph.initializer.append(half)
        graph.node.insert(0, helper.make_node("Cast", [half.name], [init.name], to=TensorProto.FLOAT))


def _require(name: str):
    try:
        return importlib.import_module(name)
    except ImportError:
        raise I2VError(f"ONNX export needs the {name} package: pip install 'i2vlib[export]'") from None
