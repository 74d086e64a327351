"""Convolution benchmark: problem set 4's master solution against PyTorch, in one run.

    make bench        (or: .venv/bin/python benchmarks/conv_bench.py)

Times the master's vectorized conv_forward + conv_backward (solutions/ps4/ps4.ipynb, im2col and one
matrix product each way) and F.conv2d forward + autograd backward, on the CPU in float64, one thread each
(NumPy's BLAS and torch's pool both limited to one thread, so neither gets more of the machine), on three
shapes, taking each side's best of several interleaved repeats. Before timing a shape it checks that the master's
output and gradients equal torch's there; where they do not, it prints why instead of a figure for that shape, and
exits non-zero at the end. It prints the ratio master / torch, the
master's GFLOP/s and its fraction of a plain GEMM's GFLOP/s measured in the same run, and the naive loop
version on the smallest shape only. Last, the master's three matrix products alone, with NumPy's BLAS and with
torch's, against torch's whole convolution: a floor for im2col + GEMM code built on these products.
"""
from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

import nbformat
import numpy as np
import torch
import torch.nn.functional as F
from threadpoolctl import threadpool_limits

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from autograder.grading.notebooks import program_cells  # noqa: E402

SHAPES = [  # (name, N, C, H, W, F, k, padding)
    ("digits-sized: 32 x 1 x 8 x 8, 16 filters", 32, 1, 8, 8, 16, 3, 1),
    ("32 x 32 x 16 (8 images), 32 filters", 8, 16, 32, 32, 32, 3, 1),
    ("64 x 64 x 32 (4 images), 32 filters", 4, 32, 64, 64, 32, 3, 1),
]
REPEATS = 7


def master_functions(problem_set: str = "ps4") -> dict:
    """The master solution's functions (every program cell run in order)."""
    master = nbformat.read(REPO / "solutions" / problem_set / f"{problem_set}.ipynb", as_version=4)
    namespace = {"__name__": "bench"}
    for cell in program_cells(master, master):
        exec(compile(cell.source, f"<{problem_set} master {cell.id}>", "exec"), namespace)
    return namespace


def departure(names: list[str], mine, theirs, rtol: float = 1e-7, atol: float = 1e-9) -> str | None:
    """None when each of ``mine`` equals the matching tensor of ``theirs`` (float64, to rounding); else which
    one departs first, and by how much: a benchmark times only code that computes the right thing."""
    for name, a, b in zip(names, mine, theirs):
        b = b.detach().numpy()
        if np.shape(a) != b.shape:
            return f"{name} has shape {np.shape(a)}, torch's {b.shape}"
        if not np.allclose(a, b, rtol=rtol, atol=atol):
            return f"{name} departs from torch's by up to {np.max(np.abs(np.asarray(a) - b)):.3g}"
    return None


def best_of(run, repeats=REPEATS) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def machine_and_gemm(rng) -> float:
    """Print the machine, the versions and a plain GEMM's rate (call with one BLAS thread); its FLOP/s."""
    print(f"{platform.processor() or platform.machine()}, {time.strftime('%Y-%m-%d')}, NumPy {np.__version__}, "
          f"torch {torch.__version__}; float64, one thread each")
    a, b = rng.normal(size=(1024, 1024)), rng.normal(size=(1024, 1024))
    gemm = 2 * 1024 ** 3 / best_of(lambda: a @ b)
    print(f"plain GEMM, 1024 x 1024 @ 1024 x 1024: {gemm / 1e9:.1f} GFLOP/s")
    return gemm


def products_alone(rng, f: int, rows: int, columns: int) -> tuple[float, float]:
    """Best seconds for the master's three matrix products (forward W cols, dW = grad cols^T, dcols = W^T grad)
    on random operands of its shapes: with NumPy's BLAS, and the same products with torch's."""
    w, cols, grad = rng.normal(size=(f, rows)), rng.normal(size=(rows, columns)), rng.normal(size=(f, columns))
    wt, colst, gradt = (torch.tensor(a) for a in (w, cols, grad))

    def numpy_products():
        return w @ cols, grad @ cols.T, w.T @ grad

    def torch_products():
        return wt @ colst, gradt @ colst.T, wt.T @ gradt

    numpy_products(), torch_products()
    return best_of(numpy_products), best_of(torch_products)


def main() -> None:
    ns = master_functions()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    with threadpool_limits(limits=1, user_api="blas"):
        gemm = machine_and_gemm(rng)
        floors, failures = [], []
        print(f"{'shape':42s} {'master ms':>10s} {'torch ms':>9s} {'ratio':>6s} {'GFLOP/s':>8s} {'of GEMM':>8s}")
        for name, n, c, h, w, f, k, p in SHAPES:
            x, W, bias = rng.normal(size=(n, c, h, w)), rng.normal(size=(f, c, k, k)), rng.normal(size=f)
            dout = rng.normal(size=(n, f, h + 2 * p - k + 1, w + 2 * p - k + 1))
            xt, Wt, bt = (torch.tensor(v, requires_grad=True) for v in (x, W, bias))
            doutt = torch.tensor(dout)

            def ours():
                out, cache = ns["conv_forward"](x, W, bias, 1, p)
                ns["conv_backward"](dout, cache)

            def theirs():
                out = F.conv2d(xt, Wt, bt, padding=p)
                torch.autograd.grad(out, (xt, Wt, bt), doutt)

            out, cache = ns["conv_forward"](x, W, bias, 1, p)
            wrong = departure(["out", "dx", "dW", "db"], [out, *ns["conv_backward"](dout, cache)],
                              [F.conv2d(xt, Wt, bt, padding=p),
                               *torch.autograd.grad(F.conv2d(xt, Wt, bt, padding=p), (xt, Wt, bt), doutt)])
            if wrong:
                print(f"{name:42s} NO FIGURE: the master's conv is wrong here ({wrong})")
                failures.append(name)
                continue
            ours(), theirs()  # warm-up
            mine, torchs = [], []
            for _ in range(REPEATS):  # interleaved, so that a drift in the machine's speed hits both
                mine.append(best_of(ours, 1))
                torchs.append(best_of(theirs, 1))
            t_ours, t_torch = min(mine), min(torchs)
            flops = 3 * 2 * n * f * c * k * k * dout.shape[2] * dout.shape[3]  # forward, dx and dW: one GEMM each
            rate = flops / t_ours
            print(f"{name:42s} {t_ours * 1e3:10.2f} {t_torch * 1e3:9.2f} {t_ours / t_torch:6.2f} {rate / 1e9:8.1f} "
                  f"{rate / gemm:8.0%}")
            floors.append((name, *products_alone(rng, f, c * k * k, n * dout.shape[2] * dout.shape[3]), t_torch, flops))
        print("the master's three matrix products alone, on operands of its shapes "
              "(a floor for im2col + GEMM code on this BLAS):")
        print(f"{'shape':42s} {'NumPy ms':>10s} {'torch ms':>9s} {'NumPy / torch conv':>19s} {'NumPy of GEMM':>14s}")
        for name, t_numpy, t_mkl, t_torch, flops in floors:
            print(f"{name:42s} {t_numpy * 1e3:10.2f} {t_mkl * 1e3:9.2f} {t_numpy / t_torch:19.2f} "
                  f"{flops / t_numpy / gemm:14.0%}")
        name, n, c, h, w, f, k, p = SHAPES[0]
        x, W, bias = rng.normal(size=(n, c, h, w)), rng.normal(size=(f, c, k, k)), rng.normal(size=f)
        wrong = departure(["conv_forward_naive"], [ns["conv_forward_naive"](x, W, bias, 1, p)[0]],
                          [F.conv2d(torch.tensor(x), torch.tensor(W), torch.tensor(bias), padding=p)])
        if wrong:
            print(f"naive loops: NO FIGURE ({wrong})")
            sys.exit(1)
        naive = best_of(lambda: ns["conv_forward_naive"](x, W, bias, 1, p), 3)
        fast = best_of(lambda: ns["conv_forward"](x, W, bias, 1, p))
        print(f"naive loops, forward only, {name}: {naive * 1e3:.1f} ms, {naive / fast:.0f} x the vectorized forward")
    if failures:
        print(f"no figure for {len(failures)} shape(s): the master disagrees with torch there")
        sys.exit(1)


if __name__ == "__main__":
    main()
