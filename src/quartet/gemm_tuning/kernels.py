"""GEMM kernels on Apache TVM 0.27 (TensorIR): one schedule per tiling configuration.

Template (CPU): split i, j, k by the configuration's factors; interleave levels outer -> inner as
``m_l, n_l, k_l`` with the last k level right outside the innermost (m, n) pair, e.g. (3, 2, 3) ->
``m0 n0 k0 m1 n1 k1 m2 n2``; vectorize the innermost n loop. Knobs outside the paper's space, fixed per
experiment and recorded with every measurement: ``unroll`` (unroll the innermost m loop when its extent
is at most this, which turns the (m, n) tile into a register block; 0 = never; longer loops are left
rolled because unrolling them only multiplies compile time), ``parallel`` (fuse the outermost m, n loops
and run them in parallel),
``decompose`` (hoist the C = 0 initialisation out of the reduction loops).

TVM is imported lazily so that the rest of the package works without it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache

from .space import Config, TilingSpace


@dataclass(frozen=True)
class KernelTemplate:
    """Non-tiling schedule knobs of the CPU template."""

    vectorize: bool = True
    unroll: int = 16
    parallel: bool = False
    decompose: bool = True

    def key(self) -> str:
        return "cpu-v1:" + ",".join(f"{k}={int(v)}" for k, v in asdict(self).items())


def loop_order(levels: tuple[int, int, int]) -> list[str]:
    """Loop names outer -> inner for ``levels = (d_m, d_k, d_n)``.

    m and n levels are paired from the inside out (the innermost m and n form the last pair); k level
    i < d_k - 1 follows pair i and the last k level sits right before the innermost pair:
    (3, 2, 3) -> ``m0 n0 k0 m1 n1 k1 m2 n2``; (4, 2, 4) -> ``m0 n0 k0 m1 n1 m2 n2 k1 m3 n3``.
    """
    d_m, d_k, d_n = levels
    mn = max(d_m, d_n)
    if mn == 1:
        return [f"k{i}" for i in range(d_k)] + ["m0", "n0"]
    pairs: list[list[str]] = [[] for _ in range(mn)]
    for name, d in (("m", d_m), ("n", d_n)):
        for level in range(d):
            pairs[mn - d + level].append(f"{name}{level}")
    for i in range(d_k):
        pairs[mn - 2 if i == d_k - 1 else min(i, mn - 2)].append(f"k{i}")
    return [name for pair in pairs for name in pair]


def host_target():
    """LLVM target for this CPU (``llvm_get_system_cpu``), or generic LLVM when detection fails."""
    import tvm

    try:
        cpu = tvm.target.codegen.llvm_get_system_cpu()
    except Exception:  # noqa: BLE001 - any failure means "unknown CPU"
        cpu = ""
    if cpu and cpu != "generic":
        return tvm.target.Target({"kind": "llvm", "mcpu": cpu})
    return tvm.target.Target({"kind": "llvm"})


def target_key(target) -> str:
    mcpu = target.attrs.get("mcpu", "") if hasattr(target, "attrs") else ""
    return f"llvm:{mcpu or 'generic'}"


@lru_cache(maxsize=16)
def gemm_module(M: int, N: int, K: int, dtype: str = "float32"):
    """``C = A @ B`` as a TensorIR PrimFunc in an IRModule, A: M x K, B: K x N."""
    import tvm
    from tvm import te

    A = te.placeholder((M, K), dtype, name="A")
    B = te.placeholder((K, N), dtype, name="B")
    k = te.reduce_axis((0, K), name="k")
    C = te.compute((M, N), lambda i, j: te.sum(A[i, k] * B[k, j], axis=k), name="C")
    return tvm.IRModule({"main": te.create_prim_func([A, B, C])})


def schedule(space: TilingSpace, config: Config, template: KernelTemplate = KernelTemplate()):
    """The scheduled IRModule of one configuration."""
    import tvm

    fm, fk, fn = space.factors(space.validate(config))
    sch = tvm.s_tir.Schedule(gemm_module(space.M, space.N, space.K))
    block = sch.get_sblock("C")
    i, j, kk = sch.get_loops(block)
    loops = {}
    for name, loop, factors in (("m", i, fm), ("n", j, fn), ("k", kk, fk)):
        parts = sch.split(loop, factors=list(factors)) if len(factors) > 1 else [loop]
        for level, part in enumerate(parts):
            loops[f"{name}{level}"] = part
    order = [loops[name] for name in loop_order(space.levels)]
    sch.reorder(*order)
    d_m, _, d_n = space.levels
    inner_m, inner_n = loops[f"m{d_m - 1}"], loops[f"n{d_n - 1}"]
    if 1 < fm[-1] <= template.unroll:
        sch.unroll(inner_m)
    if template.vectorize and fn[-1] > 1:
        sch.vectorize(inner_n)
    if template.parallel:
        outer = sch.fuse(loops["m0"], loops["n0"]) if order[:2] == [loops["m0"], loops["n0"]] else order[0]
        sch.parallel(outer)
    if template.decompose:
        # C = 0 written once per output tile before the first reduction loop; after the loop annotations,
        # which need the block to still be a reduction block (MetaSchedule's order too)
        first_k = next(idx for idx, name in enumerate(loop_order(space.levels)) if name.startswith("k"))
        sch.decompose_reduction(block, sch.get_loops(block)[first_k])
    return sch.mod


def build(space: TilingSpace, config: Config, template: KernelTemplate = KernelTemplate(), target=None):
    """Compile a configuration to a runtime module with a ``main(A, B, C)`` function."""
    import tvm

    target = target if target is not None else host_target()
    return tvm.compile(schedule(space, config, template), target=target).jit()


def export(space: TilingSpace, config: Config, path: str, template: KernelTemplate = KernelTemplate(),
           target=None) -> str:
    """Compile a configuration to a shared library at ``path`` (for RPC upload)."""
    import tvm

    target = target if target is not None else host_target()
    tvm.compile(schedule(space, config, template), target=target).export_library(path)
    return path
