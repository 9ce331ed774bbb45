"""Activation kernels: forward+backward throughput of every catalog activation and the memory autograd keeps.

For each activation, on one float32 tensor (16M elements; 1M with --quick), measured in one process:
- actlab's layer (``activation(name).module()``: PyTorch's kernel where it computes the same function,
  else the spec's autograd Function with the hand-derived backward), forward + backward, in elements/s
  and in GB/s of the minimum traffic (forward reads x and writes y, backward reads x and the incoming
  gradient and writes the input gradient: 20 bytes per float32 element), next to a plain copy's bandwidth
  (8 bytes per element) timed in the same rounds — into a fresh tensor, as every activation writes one;
  run with the trainer's host-memory setting (:func:`actlab.backends.host_memory.retain_freed_memory`);
- where the fused layer (``module(fused=True)``) runs the spec — every spec-path activation and the
  native kernels that yield to it (``Native.yields_to_fused``) — that layer too: forward and backward
  each compiled into one kernel by TorchInductor; compilation happens before timing;
- the tensors autograd saves for the backward pass, actlab's layer vs the same formula composed from
  torch ops (what writing the spec's forward in PyTorch and letting autograd differentiate it keeps).

On a GPU each timing is several calls queued back to back and one synchronisation (:data:`CALLS_PER_TIMING`):
a single forward + backward of 16M elements takes about as long on an H100 as launching it from Python, and the
bandwidth measured is the kernels', not the launcher's.

    python -m benchmarks.activation_kernels [--quick] [--no-fuse] [--device cpu|cuda] [--only relu,mish]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from actlab.activation import activation, names
from actlab.backends.fused import compile_kernel
from actlab.backends.host_memory import release_free_memory, retain_freed_memory
from actlab.backends.torch_function import SpecEvaluator

SAVES_PROBE = 4096  # elements of the input on which saved tensors are counted
BYTES_PER_ELEMENT = 20  # fwd: read x, write y; bwd: read x and dy, write dx (float32)
COPY_BYTES_PER_ELEMENT = 8  # read x, write the clone (float32)
CALLS_PER_TIMING = {"cpu": 1, "cuda": 20}  # calls queued per timing (GPU kernels run asynchronously)


@dataclass(frozen=True)
class KernelResult:
    name: str
    path: str  # "native" or "spec"
    seconds: float  # actlab's layer as it runs by default (best of the rounds)
    fused_seconds: float | None  # the spec path compiled (None: the fused layer is native, or not measured)
    elements: int
    saved: int  # activation-sized tensors autograd keeps, actlab's layer
    saved_composed: int  # the same, formula composed from torch ops
    copy_gbs: float  # best of the same rounds
    rounds: int = 1

    @property
    def elements_per_second(self) -> float:
        return self.elements / self.seconds

    @property
    def gbs(self) -> float:
        return BYTES_PER_ELEMENT * self.elements / self.seconds / 1e9

    @property
    def fraction_of_copy(self) -> float:
        return self.gbs / self.copy_gbs

    @property
    def fused_gbs(self) -> float | None:
        return None if self.fused_seconds is None else BYTES_PER_ELEMENT * self.elements / self.fused_seconds / 1e9

    @property
    def best_fraction_of_copy(self) -> float:
        """Of copy bandwidth, with the faster of the default and the fused layer."""
        return max(self.gbs, self.fused_gbs or 0.0) / self.copy_gbs


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def elapsed(fn: Callable[[], object], device: torch.device) -> float:
    """Seconds of one call of ``fn`` (already warm): on a CPU one call timed; on a GPU the mean of
    ``CALLS_PER_TIMING`` calls queued back to back between two synchronisations."""
    calls = CALLS_PER_TIMING.get(device.type, 1)
    _synchronize(device)
    started = time.perf_counter()
    for _ in range(calls):
        fn()
    _synchronize(device)
    return (time.perf_counter() - started) / calls


def best_time(fn: Callable[[], object], device: torch.device, repeats: int) -> float:
    """The fastest of ``repeats`` timings of ``fn`` (see :func:`elapsed`), after one warm-up call."""
    fn()
    _synchronize(device)
    return min(elapsed(fn, device) for _ in range(repeats))


def activation_sized_saves(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> int:
    """How many distinct tensors of x's size autograd keeps for the backward pass of ``fn(x)``."""
    storages: set[int] = set()

    def pack(t: torch.Tensor) -> torch.Tensor:
        if t.numel() >= x.numel() // 2:  # gated activations keep half-sized chunks
            storages.add(t.untyped_storage().data_ptr())
        return t

    leaf = x.detach().requires_grad_()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn(leaf)
    return len(storages)


def composed(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """The spec's forward formula as plain torch ops, differentiated by autograd."""
    act = activation(name)
    evaluator = SpecEvaluator(act.spec, act.params)
    return lambda x: evaluator.forward(x, ())


def fwd_bwd_step(layer: torch.nn.Module, x: torch.Tensor) -> Callable[[], None]:
    """One forward + backward of ``layer`` on ``x`` (run once here, so allocations are warm)."""
    layer.train()
    leaf = x.detach().requires_grad_()
    grad = torch.ones_like(layer(leaf))

    def step() -> None:
        leaf.grad = None
        layer(leaf).backward(grad)

    step()
    return step


def compile_fused(names_: list[str], device: torch.device) -> None:
    """Compile the fused layers among ``names_`` that run the spec, on a small input.

    One compilation serves every size (dynamic shapes). Compiling before any large tensor exists keeps the
    compiler's many small allocations from fragmenting the heap between the 64 MB buffers (with freed
    memory retained, that fragmentation grew one process past 20 GB)."""
    small = torch.randn(64, 64, device=device)
    for name in names_:
        layer = activation(name).module(device=device, fused=True)
        if not layer.uses_native(small):
            fwd_bwd_step(layer, small)


def measure(name: str, x: torch.Tensor, repeats: int, fuse: bool = True) -> KernelResult:
    """One activation's timings: ``repeats`` rounds of a copy of ``x``, the default layer and the fused
    layer back to back, each taking its best round. Interleaved, a burst of load from other tenants of
    this machine (its bandwidth drifts 2× between processes, and in bursts) spoils single rounds of all
    three rather than every timing of one."""
    act = activation(name)
    layer = act.module(device=x.device)
    native = layer.uses_native(x)
    fused = act.module(device=x.device, fused=True)
    timed_fused = fuse and not fused.uses_native(x)  # compiled already by compile_fused
    steps = {"copy": x.clone, "default": fwd_bwd_step(layer, x)}
    if timed_fused:
        steps["fused"] = fwd_bwd_step(fused, x)
    x.clone()  # warm, as fwd_bwd_step warms the layers
    best = dict.fromkeys(steps, float("inf"))
    for _ in range(repeats):
        for kind, step in steps.items():
            best[kind] = min(best[kind], elapsed(step, x.device))
    del steps
    release_free_memory()
    probe = min(SAVES_PROBE, x.numel()) // 64 * 64
    small = x.flatten()[:probe].reshape(64, -1).clone()  # what autograd keeps does not depend on size
    copy_gbs = COPY_BYTES_PER_ELEMENT * x.numel() / best["copy"] / 1e9
    return KernelResult(
        name,
        "native" if native else "spec",
        best["default"],
        best.get("fused"),
        x.numel(),
        activation_sized_saves(layer, small),
        activation_sized_saves(composed(name), small),
        copy_gbs,
        repeats,
    )


def run(
    elements: int, device: torch.device, only: list[str] | None = None, repeats: int = 5, fuse: bool = True
) -> list[KernelResult]:
    chosen = only or names()
    if fuse:
        compile_fused(chosen, device)
    if device.type == "cpu":
        retain_freed_memory()
    torch.manual_seed(0)
    side = int(elements**0.5)
    x = torch.randn(side, side, device=device) * 3
    results = []
    for name in chosen:
        results.append(measure(name, x, repeats, fuse))
        release_free_memory()  # each activation leaves different-sized holes; the next faults in its own
    return results


def _four_exps(x: torch.Tensor) -> torch.Tensor:
    return torch.exp(x) + torch.exp(0.5 * x) + torch.exp(0.25 * x) + torch.exp(-x)


def _in_copies(work: Callable[[torch.Tensor], object], elements: int, device: torch.device, rounds: int) -> float:
    """Time of ``work(x)`` on a float32 tensor of ``elements`` over that of ``x.clone()``, each the best of
    3 calls; median over ``rounds`` back-to-back pairs."""
    if device.type == "cpu":
        retain_freed_memory()
    side = int(elements**0.5)
    x = torch.randn(side, side, device=device)
    return statistics.median(
        best_time(lambda: work(x), device, 3) / best_time(x.clone, device, 3) for _ in range(rounds)
    )


def exp_cost(elements: int, device: torch.device, rounds: int = 5) -> float:
    """What one exp per element costs, in copies of the tensor: a compiled pass evaluating exp four times
    per element (a copy's traffic: read x, write y), timed against a copy, divided by four. Against the
    time the bandwidth target allows, it says how many transcendental evaluations a formula can afford
    before arithmetic, not memory, bounds it."""
    kernel = compile_kernel(_four_exps)
    kernel(torch.randn(64, 64, device=device))  # compile before the large tensor exists
    return _in_copies(kernel, elements, device, rounds) / 4


def draw_cost(elements: int, device: torch.device, rounds: int = 5) -> float:
    """What drawing one uniform random number per element costs (``torch.rand_like``, as stochastic
    activations such as RReLU do in training), in copies of the tensor."""
    return _in_copies(torch.rand_like, elements, device, rounds)


def _calls_note(device: str) -> str:
    calls = CALLS_PER_TIMING.get(torch.device(device).type, 1)
    return "" if calls == 1 else f" (each timing {calls} calls queued back to back, one synchronisation)"


def markdown(
    results: list[KernelResult],
    device: str,
    cpu_target: float = 0.5,
    gpu_target: float = 0.7,
    exp_copies: float | None = None,
    draw_copies: float | None = None,
) -> list[str]:
    target = gpu_target if device.startswith("cuda") else cpu_target
    elements = results[0].elements if results else 0
    lines = [
        f"## Activation kernels ({device}, float32, {elements:,} elements, forward + backward)",
        "",
        f"Plain copy (`clone`), timed next to each activation: median "
        f"{statistics.median(r.copy_gbs for r in results):.1f} GB/s "
        f"(range {min(r.copy_gbs for r in results):.1f}–{max(r.copy_gbs for r in results):.1f}). Each activation is "
        f"timed in "
        f"{results[0].rounds if results else 0} rounds of copy, default layer and fused layer back to back, each "
        f"taking "
        f"its best round{_calls_note(device)}; its fraction is of the copy timed in the same rounds. GB/s counts "
        f"{BYTES_PER_ELEMENT} "
        f"bytes per element "
        "(forward reads x and writes y; backward reads x and dy and writes dx). *saved*: activation-sized tensors "
        "autograd keeps for the backward pass — actlab's layer vs the formula composed from torch ops. *fused*: the "
        "spec path with forward and backward each compiled into one kernel (`module(fused=True)`, TorchInductor), "
        "for spec-path activations and the native kernels that yield to it (`Native.yields_to_fused`).",
        "",
        "| activation | path | Gelem/s | GB/s | fused GB/s | of copy bandwidth (best) | saved (actlab) | saved "
        "(composed) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        fused = "—" if r.fused_gbs is None else f"{r.fused_gbs:.1f}"
        lines.append(
            f"| {r.name} | {r.path} | {r.elements_per_second / 1e9:.2f} | {r.gbs:.1f} | {fused} | "
            f"{100 * r.best_fraction_of_copy:.0f} % | {r.saved} | {r.saved_composed} |"
        )
    slow = [r.name for r in results if r.best_fraction_of_copy < target]
    heavy = [r.name for r in results if r.path == "spec" and r.saved > 1]
    lines += [
        "",
        f"Targets (performance issue): every activation ≥ {100 * target:.0f} % of copy bandwidth on "
        f"{'GPU' if target == gpu_target else 'CPU'}; one saved tensor for every non-native activation.",
    ]
    lines.append(
        f"- bandwidth (the faster of the default and the fused layer): {len(results) - len(slow)} of "
        f"{len(results)} met" + (f"; below target: {', '.join(slow)}" if slow else "")
    )
    measured = [r for r in results if r.fused_seconds is not None]
    if measured:
        gains = sorted(r.seconds / r.fused_seconds for r in measured)
        lines.append(
            f"- fusion: {len(measured)} activations compiled; fused / default throughput "
            f"median {gains[len(gains) // 2]:.1f}×, range {gains[0]:.1f}–{gains[-1]:.1f}×"
        )
    lines.append(f"- saved tensors: {'met' if not heavy else 'NOT met for ' + ', '.join(heavy)}")
    budget = BYTES_PER_ELEMENT / COPY_BYTES_PER_ELEMENT / target  # copies' time forward + backward may take
    if exp_copies is not None and slow:
        lines += [
            "",
            f"Why: one exp per element costs {exp_copies:.2f} of a copy's time here (a compiled pass of four "
            f"exps per element, timed against a copy, in the same run). At {100 * target:.0f} % of copy bandwidth "
            f"forward + backward may take {budget:.0f} copies' time, about {budget / exp_copies:.0f} exp-class "
            "evaluations (erf, atan, log and sin cost more). Activations whose formulas need more than that are "
            "bound by arithmetic, fused or not; cheap formulas below the target are within this machine's "
            "run-to-run noise (see the copy range above).",
        ]
    stochastic = [name for name in slow if activation(name).spec.stochastic is not None]
    if draw_copies is not None and stochastic:
        lines.append(
            f"{', '.join(stochastic)} draw{'s' if len(stochastic) == 1 else ''} a uniform random number per "
            f"element in training: `torch.rand_like` alone costs {draw_copies:.1f} copies' time here, against "
            f"a budget of {budget:.0f} for the whole forward + backward, so random number generation, not "
            "the formula, bounds it."
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1M elements instead of 16M")
    parser.add_argument("--no-fuse", action="store_true", help="skip the fused (compiled) layers")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--only", help="comma-separated activation names")
    args = parser.parse_args()
    elements = 1 << 20 if args.quick else 1 << 24
    device = torch.device(args.device)
    results = run(elements, device, args.only.split(",") if args.only else None, fuse=not args.no_fuse)
    print(
        "\n".join(
            markdown(
                results, args.device, exp_copies=exp_cost(elements, device), draw_copies=draw_cost(elements, device)
            )
        )
    )


if __name__ == "__main__":
    main()
