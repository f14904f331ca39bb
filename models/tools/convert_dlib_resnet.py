"""Convert dlib's face recognition ResNet (``dlib_face_recognition_resnet_model_v1.dat``) to ONNX.

Run by a developer when the source file changes, never by users; the result is committed
as ``models/features/dlib-resnet128.onnx`` and pinned by its SHA-256 in
``models/manifest.toml``. Only numpy and onnx are needed (both in Raiten's environment); from
the repository root::

    .venv/bin/python models/tools/convert_dlib_resnet.py

reads the ``.dat`` file of the installed ``face_recognition_models`` package (``--dat`` names
another), writes the ONNX file (``--output`` puts it elsewhere) and prints its size and
SHA-256. The conversion is deterministic: the same ``.dat`` file gives a byte-identical file
(the committed one was made with onnx 1.23.2 and protobuf 7.36.2; the opset and IR version are
fixed here), so anyone can rebuild it and compare the hash; tests/test_features_onnx.py does.
``bench/features_onnx.py`` compares the converted network with dlib on real faces.

dlib's serialisation, as this file uses it (``dlib/serialize.h``, ``dlib/dnn/core.h``,
``layers.h``, ``input.h``, ``tensor.h``):

* integers: one byte ``size | 0x80 if negative``, then ``size`` bytes little-endian of the
  magnitude; strings: length (integer) then bytes; bools: the ASCII characters ``'1'``/``'0'``;
  floats: ``mantissa`` and ``exponent`` as two integers, value ``mantissa * 2**exponent``;
  tensors: version 2, ``num_samples, k, nr, nc``, then raw little-endian IEEE float32;
  ``alias_tensor``: version 1 and its four dimensions (its offset is implied by the layer).
* the loss layer (version 1, ``loss_metric_2`` with margin and distance threshold) comes first,
  then the network from the outside in: every ``add_layer`` writes its version (2; 3 for the one
  on the input layer) and then its subnetwork *before* its own layer, ``add_tag_layer`` and
  ``add_skip_layer`` write only a version (1) and their subnetwork. So after the run of
  versions the layers follow from the input upwards, each as its details (name, parameters),
  three bools and three (empty) tensors; the layer on the input adds the sample expansion
  factor. Tags and skips carry no data: the topology is the one of
  ``anet_type`` in dlib's ``examples/dnn_face_recognition_ex.cpp``, and the parser checks the
  file against it layer by layer, including the positions of tags and skips.

The network (``anet_type``), for a 150x150 RGB chip::

    input_rgb_image_sized<150>   (pixel - (122.782, 117.001, 104.298)) / 256, RGB planes
    con 32 7x7 /2 (no padding: dlib pads only stride-1 layers), affine, relu, max_pool 3x3 /2
    ares 32 x3, ares_down 64, ares 64 x3, ares_down 128, ares 128 x2, ares_down 256, ares 256 x2,
    ares_down 256, avg_pool_everything, fc_no_bias 128

    ares      = relu(x + B(x))
    ares_down = relu(avg_pool 2x2 /2 (x) + B(x) with its first convolution at stride 2)
    B         = affine(con 3x3 (relu(affine(con 3x3 (.)))))

``affine`` is the inference form of batch normalisation: ``gamma * x + beta`` per channel. dlib
adds tensors of different shapes by aligning them at the top left and treating the missing
elements as zeros (``tt::add``): the shortcut of ``ares_down`` has half the channels, and at
8x8 -> 4x4 the strided convolution gives 3x3 while the pooled shortcut gives 4x4. The ONNX
graph pads with zeros to do the same. Convolutions are cross-correlations with filters in
(out, in, rows, cols) order, as in ONNX; fc weights are stored (inputs, outputs).

The ONNX model takes ``chip``: uint8, (N, 150, 150, 3), RGB, the face chip that dlib's
``get_face_chip(image, shape, size=150, padding=0.25)`` cuts (the caller cuts it, as
``compute_face_descriptor`` does), and returns ``descriptor``: float32 (N, 128), dlib's raw
descriptor (not normalised).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "models" / "features" / "dlib-resnet128.onnx"
DAT_NAME = "dlib_face_recognition_resnet_model_v1.dat"
OPSET = 17
IR_VERSION = 8

# (filters, stride-2 first convolution with pooled shortcut) per residual block, input upwards.
BLOCKS = [(32, False)] * 3 + [(64, True)] + [(64, False)] * 3 + [(128, True)]
BLOCKS += [(128, False)] * 2 + [(256, True)] + [(256, False)] * 2 + [(256, True)]


class FormatError(ValueError):
    """The file is not the network this converter knows."""


class Reader:
    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise FormatError("unexpected end of file")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def take(self, count: int) -> bytes:
        if self.pos + count > len(self.data):
            raise FormatError("unexpected end of file")
        chunk = self.data[self.pos : self.pos + count]
        self.pos += count
        return chunk

    def integer(self) -> int:
        control = self.byte()
        size = control & 0x0F
        if control & 0x70 or size > 8:
            raise FormatError(f"bad integer control byte {control:#x} at {self.pos - 1}")
        magnitude = int.from_bytes(self.take(size), "little")
        return -magnitude if control & 0x80 else magnitude

    def string(self) -> str:
        return self.take(self.integer()).decode("ascii")

    def boolean(self) -> bool:
        value = self.byte()
        if value not in (0x30, 0x31):
            raise FormatError(f"bad bool {value:#x} at {self.pos - 1}")
        return value == 0x31

    def real(self) -> float:
        mantissa = self.integer()
        exponent = self.integer()
        if abs(exponent) >= 32000:  # dlib's markers for inf and nan
            raise FormatError(f"non-finite float at {self.pos}")
        return float(mantissa) * 2.0**exponent

    def tensor(self) -> np.ndarray:
        if (version := self.integer()) != 2:
            raise FormatError(f"tensor version {version}, expected 2")
        shape = tuple(self.integer() for _ in range(4))
        count = int(np.prod(shape))
        return np.frombuffer(self.take(4 * count), dtype="<f4").reshape(shape).copy()

    def alias(self) -> tuple[int, ...]:
        if (version := self.integer()) != 1:
            raise FormatError(f"alias_tensor version {version}, expected 1")
        return tuple(self.integer() for _ in range(4))

    def expect(self, value: object, what: str, actual: object) -> None:
        if actual != value:
            raise FormatError(f"{what}: expected {value!r}, found {actual!r} (byte {self.pos})")


@dataclass
class Layer:
    name: str
    params: dict[str, object] = field(default_factory=dict)


def _expected_versions() -> list[int]:
    """The run of add_layer (2, 3 on the input) and tag/skip (1) versions, outside in."""
    inside_out = [3, 2, 2, 2]  # con, affine, relu, max_pool
    for _, down in BLOCKS:
        inside_out += [1] + [2] * 5  # tag1, con affine relu con affine
        inside_out += [1, 1, 2, 2, 2] if down else [2, 2]  # tag2 skip1 avg_pool | add relu
    inside_out += [2, 2]  # avg_pool_everything, fc
    return inside_out[::-1]


def _layer_tail(reader: Reader) -> None:
    for _ in range(3):
        reader.boolean()
    for _ in range(3):
        reader.tensor()  # x_grad, cached_output, params_grad: empty in a saved net


def _details(reader: Reader) -> Layer:
    name = reader.string()
    layer = Layer(name)
    if name == "con_4":
        params = reader.tensor().reshape(-1)
        filters, rows, cols, stride_y, stride_x, pad_y, pad_x = (reader.integer() for _ in range(7))
        shape = reader.alias()
        reader.expect((1, filters, 1, 1), "con_ bias shape", reader.alias())
        for _ in range(4):
            reader.real()  # learning-rate and weight-decay multipliers
        size = int(np.prod(shape))
        reader.expect(size + filters, "con_ parameter count", params.size)
        reader.expect((filters, shape[1], rows, cols), "con_ filter shape", shape)
        layer.params = {
            "weight": params[:size].reshape(shape),
            "bias": params[size:],
            "stride": (stride_y, stride_x),
            "pad": (pad_y, pad_x),
        }
    elif name == "affine_":
        params = reader.tensor().reshape(-1)
        gamma = reader.alias()
        reader.expect(gamma, "affine_ beta shape", reader.alias())
        reader.expect(0, "affine_ mode (CONV)", reader.integer())
        channels = int(np.prod(gamma))
        reader.expect(2 * channels, "affine_ parameter count", params.size)
        layer.params = {"gamma": params[:channels], "beta": params[channels:]}
    elif name in ("max_pool_2", "avg_pool_2"):
        rows, cols, stride_y, stride_x, pad_y, pad_x = (reader.integer() for _ in range(6))
        layer.params = {"window": (rows, cols), "stride": (stride_y, stride_x)}
        layer.params["pad"] = (pad_y, pad_x)
    elif name == "fc_2":
        outputs, inputs = reader.integer(), reader.integer()
        params = reader.tensor()
        reader.expect((inputs, outputs, 1, 1), "fc_ weight shape", reader.alias())
        reader.expect((0, 0, 0, 0), "fc_no_bias bias shape", reader.alias())
        reader.expect(1, "fc_ bias mode (FC_NO_BIAS)", reader.integer())
        for _ in range(4):
            reader.real()
        layer.params = {"weight": params.reshape(inputs, outputs)}
    elif name not in ("relu_", "add_prev_"):
        raise FormatError(f"unknown layer {name!r} at byte {reader.pos}")
    return layer


def parse(data: bytes) -> tuple[tuple[float, float, float], list[Layer]]:
    """The input layer's mean colour and the layers from the input upwards."""
    reader = Reader(data)
    reader.expect(1, "loss layer version", reader.integer())
    reader.expect("loss_metric_2", "loss", reader.string())
    reader.real(), reader.real()  # margin and distance threshold: training only
    versions = _expected_versions()
    found = [reader.integer() for _ in versions]
    reader.expect(versions, "network structure (layer versions)", found)
    reader.expect("input_rgb_image_sized", "input layer", reader.string())
    mean = (reader.real(), reader.real(), reader.real())
    reader.expect((150, 150), "input size", (reader.integer(), reader.integer()))
    layers = [_details(reader)]
    _layer_tail(reader)  # here the tensors are x_grad, cached_output and grad_final
    reader.integer()  # sample expansion factor
    while reader.pos < len(data):
        layers.append(_details(reader))
        _layer_tail(reader)
    return mean, layers


class GraphBuilder:
    def __init__(self, layers: list[Layer]):
        self._layers: Iterator[Layer] = iter(layers)
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._count = 0

    def _name(self, stem: str) -> str:
        self._count += 1
        return f"{stem}_{self._count}"

    def constant(self, stem: str, value: np.ndarray) -> str:
        name = self._name(stem)
        self.initializers.append(numpy_helper.from_array(value, name))
        return name

    def node(self, op: str, inputs: list[str], **attrs: object) -> str:
        output = self._name(op.lower())
        self.nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    def take(self, name: str) -> Layer:
        layer = next(self._layers, None)
        if layer is None or layer.name != name:
            raise FormatError(f"expected layer {name}, found {layer and layer.name}")
        return layer

    def con(self, x: str, shape: list[int]) -> str:
        p = self.take("con_4").params
        weight = np.asarray(p["weight"])
        stride = tuple(p["stride"])  # type: ignore[arg-type]
        pad = tuple(p["pad"])  # type: ignore[arg-type]
        inputs = [x, self.constant("w", weight), self.constant("b", np.asarray(p["bias"]))]
        out = self.node(
            "Conv",
            inputs,
            kernel_shape=list(weight.shape[2:]),
            strides=list(stride),
            pads=[pad[0], pad[1], pad[0], pad[1]],
        )
        shape[0] = weight.shape[0]
        for axis in (1, 2):
            extent = shape[axis] + 2 * pad[axis - 1] - weight.shape[axis + 1]
            shape[axis] = 1 + extent // stride[axis - 1]
        return out

    def affine(self, x: str) -> str:
        p = self.take("affine_").params
        gamma = np.asarray(p["gamma"]).reshape(1, -1, 1, 1)
        beta = np.asarray(p["beta"]).reshape(1, -1, 1, 1)
        scaled = self.node("Mul", [x, self.constant("gamma", gamma)])
        return self.node("Add", [scaled, self.constant("beta", beta)])

    def relu(self, x: str) -> str:
        self.take("relu_")
        return self.node("Relu", [x])

    def pool(self, op: str, name: str, x: str, shape: list[int]) -> str:
        p = self.take(name).params
        window = tuple(p["window"])  # type: ignore[arg-type]
        stride = tuple(p["stride"])  # type: ignore[arg-type]
        if tuple(p["pad"]) != (0, 0):  # type: ignore[arg-type]
            raise FormatError(f"{name} with padding is not handled")
        for axis in (1, 2):
            shape[axis] = 1 + (shape[axis] - window[axis - 1]) // stride[axis - 1]
        return self.node(op, [x], kernel_shape=list(window), strides=list(stride))

    def pad_to(self, x: str, shape: list[int], target: list[int]) -> str:
        """Zeros after the existing channels, rows and columns, as dlib's ``tt::add`` reads."""
        extra = [t - s for s, t in zip(shape, target, strict=True)]
        if not any(extra):
            return x
        pads = np.array([0, 0, 0, 0, 0, *extra], dtype=np.int64)
        return self.node("Pad", [x, self.constant("pads", pads)], mode="constant")

    def block(self, x: str, shape: list[int], down: bool) -> tuple[str, list[int]]:
        inner = list(shape)
        y = self.con(x, inner)
        y = self.relu(self.affine(y))
        y = self.affine(self.con(y, inner))
        shortcut, short_shape = x, list(shape)
        if down:
            shortcut = self.pool("AveragePool", "avg_pool_2", x, short_shape)
        self.take("add_prev_")
        target = [max(a, b) for a, b in zip(inner, short_shape, strict=True)]
        total = self.node(
            "Add", [self.pad_to(y, inner, target), self.pad_to(shortcut, short_shape, target)]
        )
        return self.relu(total), target

    def build(self, x: str) -> str:
        shape = [3, 150, 150]
        x = self.relu(self.affine(self.con(x, shape)))
        x = self.pool("MaxPool", "max_pool_2", x, shape)
        for filters, down in BLOCKS:
            x, shape = self.block(x, shape, down)
            if shape[0] != filters:
                raise FormatError(f"block gave {shape[0]} channels, expected {filters}")
        everything = self.take("avg_pool_2").params
        if tuple(everything["window"]) != (0, 0):  # type: ignore[arg-type]
            raise FormatError("the last pooling is not avg_pool_everything")
        x = self.node("Flatten", [self.node("GlobalAveragePool", [x])], axis=1)
        weight = np.asarray(self.take("fc_2").params["weight"])
        out = self.node("MatMul", [x, self.constant("fc", weight)])
        if next(self._layers, None) is not None:
            raise FormatError("layers left over after the fc layer")
        return out


def convert(data: bytes) -> onnx.ModelProto:
    mean, layers = parse(data)
    builder = GraphBuilder(layers)
    rgb = builder.node("Cast", ["chip"], to=TensorProto.FLOAT)
    centred = builder.node("Sub", [rgb, builder.constant("mean", np.array(mean, np.float32))])
    # dlib divides by 256; multiplying by 1/256 is exact in binary floating point.
    scaled = builder.node("Mul", [centred, builder.constant("scale", np.float32(1 / 256))])
    planes = builder.node("Transpose", [scaled], perm=[0, 3, 1, 2])
    out = builder.build(planes)
    builder.nodes.append(helper.make_node("Identity", [out], ["descriptor"], name="descriptor"))
    graph = helper.make_graph(
        builder.nodes,
        "dlib_face_recognition_resnet_model_v1",
        [helper.make_tensor_value_info("chip", TensorProto.UINT8, ["N", 150, 150, 3])],
        [helper.make_tensor_value_info("descriptor", TensorProto.FLOAT, ["N", 128])],
        builder.initializers,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="raiten models/tools/convert_dlib_resnet.py",
        ir_version=IR_VERSION,
    )
    model.doc_string = (
        "dlib face recognition ResNet v1 (Davis King, dlib-models, public domain / CC0) "
        "converted from dlib_face_recognition_resnet_model_v1.dat. Input: 150x150 RGB face "
        "chip from dlib get_face_chip(padding=0.25). Output: dlib's 128-d descriptor."
    )
    onnx.checker.check_model(model, full_check=True)
    return model


def installed_dat() -> Path:
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("face_recognition_models is not installed; give --dat")
    return Path(next(iter(spec.submodule_search_locations))) / "models" / DAT_NAME


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dat", type=Path, default=None, help=f"the {DAT_NAME} to convert")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    dat = args.dat or installed_dat()
    try:
        model = convert(dat.read_bytes())
    except FormatError as exc:
        print(f"{dat}: {exc}", file=sys.stderr)
        return 2
    data = model.SerializeToString(deterministic=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(data)
    print(f"{args.output}: {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
