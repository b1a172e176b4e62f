"""Real measurement on Apache TVM: an isolated local measurer and an RPC measurer.

``LocalTVMMeasurer`` builds and times each configuration in a persistent worker process (TVM imported
once): a configuration that raises is recorded as failed; one that crashes the worker or exceeds
``timeout_s`` gets its worker killed and replaced, is recorded as failed, and the search goes on.
Per-trial harness overhead is one pipe round trip.

Timing protocol (per configuration): compile; one probe call timed with ``perf_counter``; if the probe
is slower than ``min(cap_s, abort_factor * best_so_far)`` keep it as the only cost (``aborted``: a valid,
slow result); otherwise ``time_evaluator(number, repeat)``. A result faster
than every earlier one, and the first ``check_first`` trials, are checked against numpy.

``RPCMeasurer`` compiles locally, uploads the library to a server found through a TVM RPC tracker and
times it there, so measurement can spread over many machines.
"""

from __future__ import annotations

import math
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from .kernels import KernelTemplate
from .measure import Measurer, MeasureResult
from .space import Config, TilingSpace, config_to_str

# ----------------------------------------------------------------------------------------------------
# worker side


_CONTEXTS: dict[tuple, dict] = {}


def _workload_context(spec: dict) -> dict:
    """Arrays, target and reference product for one workload, built once per worker."""
    key = (spec["M"], spec["N"], spec["K"], spec["seed"], spec.get("mcpu"))
    ctx = _CONTEXTS.get(key)
    if ctx is None:
        import tvm

        from .kernels import host_target

        rng = np.random.default_rng(spec["seed"])
        a = rng.random((spec["M"], spec["K"]), dtype=np.float32)
        b = rng.random((spec["K"], spec["N"]), dtype=np.float32)
        dev = tvm.cpu(0)
        target = host_target() if spec.get("mcpu") is None else tvm.target.Target(
            {"kind": "llvm", "mcpu": spec["mcpu"]} if spec["mcpu"] else {"kind": "llvm"})
        ctx = {
            "a": a, "b": b, "ref": a @ b, "dev": dev, "target": target,
            "ta": tvm.runtime.tensor(a, dev), "tb": tvm.runtime.tensor(b, dev),
            "tc": tvm.runtime.tensor(np.zeros((spec["M"], spec["N"]), np.float32), dev),
        }
        _CONTEXTS[key] = ctx
    return ctx


def check_against_numpy(out: np.ndarray, reference: np.ndarray, K: int) -> str | None:
    """None when ``out`` matches the float64-free numpy product within float32 accumulation error."""
    tol = 1e-5 * K  # summation of K products of values in [0, 1)
    err = float(np.max(np.abs(out - reference) / np.maximum(np.abs(reference), 1.0)))
    return None if err <= tol else f"wrong result: max relative error {err:.3g} > {tol:.3g}"


def prepare(spec: dict) -> int:
    """Import TVM and build the workload's arrays ahead of the first timed trial."""
    from . import kernels  # noqa: F401

    _workload_context(spec)
    return os.getpid()


def measure_config(spec: dict, config_str: str, best_so_far: float, check: bool) -> dict:
    """Build and time one configuration (runs inside the worker). Returns a MeasureResult as a dict."""
    t_start = time.perf_counter()
    result = _measure_config(spec, config_str, best_so_far, check)
    result["worker_s"] = time.perf_counter() - t_start
    return result


def _measure_config(spec: dict, config_str: str, best_so_far: float, check: bool) -> dict:
    fault = spec.get("faults", {}).get(config_str)
    if fault == "crash":
        os._exit(77)
    if fault == "hang":
        time.sleep(3600)
    if fault == "raise":
        raise RuntimeError("injected build failure")
    from .kernels import build
    from .space import config_from_str

    space = TilingSpace(spec["M"], spec["N"], spec["K"], tuple(spec["levels"]))
    config = space.validate(config_from_str(config_str))
    ctx = _workload_context(spec)
    t0 = time.perf_counter()
    try:
        rt = build(space, config, KernelTemplate(**spec["template"]), ctx["target"])
        func = rt["main"]  # the JIT generates machine code on first lookup: part of compiling
    except Exception as exc:  # noqa: BLE001 - any build error is a failed trial
        return {"costs": None, "error": f"build: {type(exc).__name__}: {str(exc).splitlines()[-1][:300]}",
                "compile_s": time.perf_counter() - t0}
    compile_s = time.perf_counter() - t0
    ta, tb, tc = ctx["ta"], ctx["tb"], ctx["tc"]
    t1 = time.perf_counter()
    p0 = time.perf_counter()
    func(ta, tb, tc)
    probe = time.perf_counter() - p0
    limit = min(spec["cap_s"], spec["abort_factor"] * best_so_far)
    if probe > limit:
        costs, aborted = [probe], True
    else:
        evaluator = rt.time_evaluator("main", ctx["dev"], number=spec["number"], repeat=spec["repeat"])
        costs, aborted = list(evaluator(ta, tb, tc).results), False
    error = None
    if check or min(costs) < best_so_far:  # every new best, aborted or not, is checked
        error = check_against_numpy(tc.numpy(), ctx["ref"], spec["K"])
    return {"costs": None if error else costs, "error": error, "compile_s": compile_s,
            "measure_s": time.perf_counter() - t1, "aborted": aborted}


def _worker_main(conn) -> None:
    """Worker loop: receive (function name, args), reply ("ok", value) or ("error", text)."""
    functions = {"measure_config": measure_config, "prepare": prepare, "ping": os.getpid}
    while True:
        try:
            name, args = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply = ("ok", functions[name](*args))
        except Exception as exc:  # noqa: BLE001 - reported to the parent, never fatal
            reply = ("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}")
        conn.send(reply)


class IsolatedWorker:
    """One persistent worker process; ``call`` returns ``(ok, value)`` and survives crashes and hangs.

    The worker is a fresh interpreter (``python -m quartet.gemm_tuning.tvm_measure``) connected over a
    local socket: no fork of a process whose TVM thread pool already runs, and no re-import of the
    caller's ``__main__`` (which ``multiprocessing``'s spawn would do).
    """

    def __init__(self, env: dict[str, str] | None = None, start_timeout_s: float = 120.0,
                 warmup: tuple[str, tuple] | None = None) -> None:
        self._env = env or {}
        self.warmup = warmup  # (function, args) run after every (re)start, outside the trial timeout
        self.start_timeout_s = start_timeout_s
        self.process: subprocess.Popen | None = None
        self.conn = None
        self.restarts = 0

    def start(self) -> None:
        from multiprocessing.connection import Listener

        authkey = secrets.token_bytes(16)
        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ, **self._env)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
        with Listener(family="AF_UNIX", authkey=authkey) as listener:
            env["QUARTET_WORKER_ADDRESS"] = listener.address
            env["QUARTET_WORKER_AUTHKEY"] = authkey.hex()
            self.process = subprocess.Popen(
                [sys.executable, "-m", "quartet.gemm_tuning.tvm_measure"], env=env,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            accepted: dict = {}

            def accept() -> None:
                try:
                    accepted["conn"] = listener.accept()
                except OSError as exc:  # the listener was closed: the worker never connected
                    accepted["error"] = exc

            waiter = threading.Thread(target=accept, daemon=True)
            waiter.start()
            deadline = time.monotonic() + self.start_timeout_s
            while waiter.is_alive() and time.monotonic() < deadline and self.process.poll() is None:
                waiter.join(0.05)
            if "conn" not in accepted:
                code = self.process.poll()
                self._kill()
                raise RuntimeError(f"measurement worker did not connect (exit code {code}) within "
                                   f"{self.start_timeout_s:g} s")
            self.conn = accepted["conn"]
        if self.warmup is not None:
            name, args = self.warmup
            self.conn.send((name, args))
            if not self.conn.poll(self.start_timeout_s):
                self._kill()
                raise RuntimeError(f"measurement worker did not start within {self.start_timeout_s:g} s")
            self.conn.recv()

    def _kill(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()
            self.process.wait(10)
        if self.conn is not None:
            self.conn.close()
        self.process = self.conn = None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def call(self, name: str, args: tuple, timeout_s: float) -> tuple[bool, object]:
        if not self.alive():
            if self.process is not None:
                self._kill()
                self.restarts += 1
            self.start()
        try:
            self.conn.send((name, args))
            if not self.conn.poll(timeout_s):
                self._kill()
                self.restarts += 1
                return False, f"timeout: killed after {timeout_s:g} s"
            status, value = self.conn.recv()
        except (EOFError, BrokenPipeError, ConnectionResetError, OSError):
            code = self.process.wait(10) if self.process is not None else None
            self._kill()
            self.restarts += 1
            return False, f"worker crashed (exit code {code})"
        return status == "ok", value

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        if self.process is not None:
            try:
                self.process.wait(5)  # the worker exits on EOF
            except subprocess.TimeoutExpired:
                pass
        self._kill()


def tvm_environment() -> dict:
    """Versions, CPU and load stored with every measurement."""
    env = {"numpy": np.__version__, "platform": platform.platform(), "processor": platform.processor()}
    try:
        import tvm

        env["tvm"] = tvm.__version__
        env["mcpu"] = tvm.target.codegen.llvm_get_system_cpu()
    except Exception:  # noqa: BLE001
        env["tvm"] = None
    try:
        import tvm_ffi

        env["tvm_ffi"] = getattr(tvm_ffi, "__version__", None)
    except Exception:  # noqa: BLE001
        env["tvm_ffi"] = None
    try:
        env["load1"] = os.getloadavg()[0]
    except OSError:
        env["load1"] = None
    return env


@dataclass
class TimingOptions:
    number: int = 1
    repeat: int = 3
    cap_s: float = 1.0
    abort_factor: float = 10.0
    timeout_s: float = 60.0
    check_first: int = 3

    def __post_init__(self) -> None:
        for name in ("number", "repeat"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"invalid {name}={v!r}: must be an integer >= 1")
        for name in ("cap_s", "abort_factor", "timeout_s"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and v > 0):
                raise ValueError(f"invalid {name}={v!r}: must be a number > 0")


class LocalTVMMeasurer(Measurer):
    """Measure on this machine through TVM, each trial inside an isolated persistent worker.

    threads: ``TVM_NUM_THREADS`` of the worker (1 = single-thread kernels, the default protocol).
    faults: testing hook, ``{config_str: "crash" | "hang" | "raise"}`` makes the worker misbehave.
    """

    def __init__(self, space: TilingSpace, template: KernelTemplate = KernelTemplate(),
                 timing: TimingOptions | None = None, threads: int = 1, seed: int = 0,
                 mcpu: str | None = None, faults: dict[str, str] | None = None) -> None:
        self.space = space
        self.template = template
        self.timing = timing or TimingOptions()
        self.threads = threads
        self.spec = {
            "M": space.M, "N": space.N, "K": space.K, "levels": list(space.levels), "seed": seed,
            "mcpu": mcpu, "template": template.__dict__.copy(), "faults": dict(faults or {}),
            "number": self.timing.number, "repeat": self.timing.repeat,
            "cap_s": self.timing.cap_s, "abort_factor": self.timing.abort_factor,
        }
        self.worker = IsolatedWorker(env={"TVM_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads)},
                                     warmup=("prepare", (self.spec,)))
        self.best_so_far = math.inf
        self.n_trials = 0
        self.overheads_s: list[float] = []
        self.ipc_overheads_s: list[float] = []
        self._env: dict | None = None
        self.target_key = f"llvm:{mcpu if mcpu is not None else _system_cpu()}|{template.key()}|threads={threads}"

    def environment(self) -> dict:
        if self._env is None:
            self._env = tvm_environment()
        env = dict(self._env, threads=self.threads)
        try:
            env["load1"] = os.getloadavg()[0]
        except OSError:
            pass
        return env

    def warm_up(self) -> None:
        """Start the worker and import TVM there, outside any timed trial."""
        if not self.worker.alive():
            self.worker.start()

    def measure_batch(self, configs: Sequence[Config]) -> list[MeasureResult]:
        out = []
        for config in configs:
            config = self.space.validate(config)
            check = self.n_trials < self.timing.check_first
            self.n_trials += 1
            t0 = time.perf_counter()
            ok, value = self.worker.call(
                "measure_config", (self.spec, config_to_str(config), self.best_so_far, check), self.timing.timeout_s)
            wall = time.perf_counter() - t0
            if not ok:
                out.append(MeasureResult(costs=None, error=str(value), measure_s=wall, timestamp=time.time()))
                continue
            res = MeasureResult(
                costs=tuple(value["costs"]) if value["costs"] else None, error=value["error"],
                compile_s=value["compile_s"], measure_s=value.get("measure_s", 0.0),
                timestamp=time.time(), aborted=value.get("aborted", False),
            )
            # harness overhead: everything but compile and run (IPC, bookkeeping, freeing the module)
            self.overheads_s.append(max(0.0, wall - res.compile_s - res.measure_s))
            self.ipc_overheads_s.append(max(0.0, wall - value["worker_s"]))
            if res.ok:
                self.best_so_far = min(self.best_so_far, res.time_s)
            out.append(res)
        return out

    def verify(self, config: Config) -> MeasureResult:
        """Rebuild and re-time ``config`` and check its output against numpy (for a final best)."""
        ok, value = self.worker.call(
            "measure_config", (self.spec, config_to_str(self.space.validate(config)), math.inf, True),
            self.timing.timeout_s)
        if not ok:
            return MeasureResult(costs=None, error=str(value), timestamp=time.time())
        return MeasureResult(costs=tuple(value["costs"]) if value["costs"] else None, error=value["error"],
                             compile_s=value["compile_s"], measure_s=value.get("measure_s", 0.0),
                             timestamp=time.time())

    def close(self) -> None:
        self.worker.close()


def _system_cpu() -> str:
    try:
        import tvm

        return tvm.target.codegen.llvm_get_system_cpu() or "generic"
    except Exception:  # noqa: BLE001
        return "generic"


# ----------------------------------------------------------------------------------------------------
# RPC


class RPCMeasurer(Measurer):
    """Compile here, run on a remote TVM RPC server requested from a tracker under ``key``.

    The remote must have the same CPU as ``mcpu`` (default: this machine's) for the kernels to run.
    """

    def __init__(self, space: TilingSpace, tracker_host: str, tracker_port: int, key: str,
                 template: KernelTemplate = KernelTemplate(), timing: TimingOptions | None = None,
                 mcpu: str | None = None, seed: int = 0, session_timeout_s: float = 600.0) -> None:
        import tvm
        from tvm import rpc

        from .kernels import host_target

        if not isinstance(tracker_port, int) or not 1 <= tracker_port <= 65535:
            raise ValueError(f"invalid tracker_port={tracker_port!r}: must be an integer in 1..65535")
        self.space, self.template = space, template
        self.timing = timing or TimingOptions()
        self.target = host_target() if mcpu is None else tvm.target.Target({"kind": "llvm", "mcpu": mcpu})
        self.target_key = f"llvm:{self.target.attrs.get('mcpu', '') or 'generic'}|{template.key()}|rpc={key}"
        tracker = rpc.connect_tracker(tracker_host, tracker_port)
        self.remote = tracker.request(key, priority=1, session_timeout=session_timeout_s)
        self.dev = self.remote.cpu(0)
        rng = np.random.default_rng(seed)
        a = rng.random((space.M, space.K), dtype=np.float32)
        b = rng.random((space.K, space.N), dtype=np.float32)
        self.ref = a @ b
        self.ta, self.tb = tvm.runtime.tensor(a, self.dev), tvm.runtime.tensor(b, self.dev)
        self.tc = tvm.runtime.tensor(np.zeros((space.M, space.N), np.float32), self.dev)
        self.best_so_far = math.inf
        self._tmp = tempfile.TemporaryDirectory(prefix="quartet-rpc-")
        self.n_trials = 0

    def environment(self) -> dict:
        return dict(tvm_environment(), remote=True)

    def measure_batch(self, configs: Sequence[Config]) -> list[MeasureResult]:
        from .kernels import export

        out = []
        for config in configs:
            config = self.space.validate(config)
            name = f"k{self.n_trials}.so"
            self.n_trials += 1
            path = os.path.join(self._tmp.name, name)
            t0 = time.perf_counter()
            try:
                export(self.space, config, path, self.template, self.target)
            except Exception as exc:  # noqa: BLE001
                out.append(MeasureResult.failure(f"build: {type(exc).__name__}: {exc}"[:300],
                                                 time.perf_counter() - t0))
                continue
            compile_s = time.perf_counter() - t0
            t1 = time.perf_counter()
            try:
                self.remote.upload(path)
                rlib = self.remote.load_module(name)
                evaluator = rlib.time_evaluator("main", self.dev, number=1, repeat=1)
                probe = evaluator(self.ta, self.tb, self.tc).mean
                limit = min(self.timing.cap_s, self.timing.abort_factor * self.best_so_far)
                if probe > limit:
                    costs, aborted = [probe], True
                else:
                    evaluator = rlib.time_evaluator("main", self.dev, number=self.timing.number,
                                                    repeat=self.timing.repeat)
                    costs, aborted = list(evaluator(self.ta, self.tb, self.tc).results), False
                error = None
                if not aborted and (min(costs) < self.best_so_far or self.n_trials <= self.timing.check_first):
                    error = check_against_numpy(self.tc.numpy(), self.ref, self.space.K)
            except Exception as exc:  # noqa: BLE001 - a remote failure is a failed trial
                out.append(MeasureResult.failure(f"rpc: {type(exc).__name__}: {exc}"[:300], compile_s))
                continue
            res = MeasureResult(costs=None if error else tuple(costs), error=error, compile_s=compile_s,
                                measure_s=time.perf_counter() - t1, timestamp=time.time(), aborted=aborted)
            if res.ok and not aborted:
                self.best_so_far = min(self.best_so_far, res.time_s)
            out.append(res)
        return out

    def close(self) -> None:
        self._tmp.cleanup()


def start_tracker(host: str = "127.0.0.1", port: int = 9190, port_end: int = 9299):
    """A TVM RPC tracker in a subprocess; ``.port`` is the bound port, ``.terminate()`` stops it."""
    from tvm.rpc.tracker import Tracker

    return Tracker(host=host, port=port, port_end=port_end, silent=True)


def start_server(tracker_host: str, tracker_port: int, key: str, host: str = "127.0.0.1",
                 port: int = 9300, port_end: int = 9399):
    """A TVM RPC server registered with a tracker under ``key``; ``.terminate()`` stops it."""
    from tvm.rpc.server import Server

    return Server(host=host, port=port, port_end=port_end, tracker_addr=(tracker_host, tracker_port),
                  key=key, silent=True)


if __name__ == "__main__":  # worker process of IsolatedWorker
    from multiprocessing.connection import Client

    _worker_main(Client(os.environ["QUARTET_WORKER_ADDRESS"],
                        authkey=bytes.fromhex(os.environ["QUARTET_WORKER_AUTHKEY"])))
