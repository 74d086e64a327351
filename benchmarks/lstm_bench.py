"""LSTM benchmark: problem set 5's master solution against torch.nn.LSTM, in one run.

    make bench        (or: .venv/bin/python benchmarks/lstm_bench.py)

Times the master's lstm_forward + lstm_backward (solutions/ps5/ps5.ipynb: the input product of every step hoisted
out of the loop, the weight gradients after it, one matrix product each) and torch.nn.LSTM forward + autograd
backward (gradients for the input, the initial state and the weights, as the master returns), on the CPU in
float64, one thread each, on two shapes, taking each side's best of several interleaved repeats. It prints the
ratio master / torch and the master's GFLOP/s against a plain GEMM's, measured in the same run. Before timing a
shape it checks that the master's h and gradients equal torch's; where they do not, it prints why instead of a
figure, and exits non-zero at the end.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits
from torch.func import functional_call

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conv_bench import best_of, departure, machine_and_gemm, master_functions  # noqa: E402

SHAPES = [  # (T, N, D, H)
    (50, 32, 64, 128),
    (100, 64, 128, 256),
]
REPEATS = 5


def main() -> None:
    ns = master_functions("ps5")
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    with threadpool_limits(limits=1, user_api="blas"):
        gemm = machine_and_gemm(rng)
        print(f"{'LSTM forward + backward':34s} {'master ms':>10s} {'torch ms':>9s} {'ratio':>6s} {'GFLOP/s':>8s} "
              f"{'of GEMM':>8s}")
        failures = []
        for T, N, D, H in SHAPES:
            x, h0, c0 = rng.normal(size=(N, T, D)), rng.normal(size=(N, H)), rng.normal(size=(N, H))
            Wx, Wh = rng.normal(size=(D, 4 * H)) / np.sqrt(D), rng.normal(size=(H, 4 * H)) / np.sqrt(H)
            bias, dh = rng.normal(size=4 * H), rng.normal(size=(N, T, H))
            lstm = torch.nn.LSTM(D, H, batch_first=True, dtype=torch.float64)
            tensors = [torch.tensor(v, requires_grad=True) for v in (x, h0, c0, Wx, Wh, bias)]
            dh_t = torch.tensor(dh)
            weights = {"weight_ih_l0": torch.tensor(Wx.T.copy(), requires_grad=True),
                       "weight_hh_l0": torch.tensor(Wh.T.copy(), requires_grad=True),
                       "bias_ih_l0": tensors[5], "bias_hh_l0": torch.zeros(4 * H, dtype=torch.float64)}
            inputs = [tensors[0], tensors[1], tensors[2], weights["weight_ih_l0"], weights["weight_hh_l0"], tensors[5]]

            def ours():
                h, c, cache = ns["lstm_forward"](x, h0, c0, Wx, Wh, bias)
                ns["lstm_backward"](dh, cache)

            def theirs():
                out, _ = functional_call(lstm, weights, (tensors[0], (tensors[1][None], tensors[2][None])))
                torch.autograd.grad(out, inputs, dh_t)

            name = f"T={T}, N={N}, D={D}, H={H}"
            h, c, cache = ns["lstm_forward"](x, h0, c0, Wx, Wh, bias)
            dx, dh0, dc0, dWx, dWh, db = ns["lstm_backward"](dh, cache)
            out, _ = functional_call(lstm, weights, (tensors[0], (tensors[1][None], tensors[2][None])))
            grads = torch.autograd.grad(out, inputs, dh_t)
            wrong = departure(["h", "dx", "dh0", "dc0", "dWx", "dWh", "db"], [h, dx, dh0, dc0, dWx.T, dWh.T, db],
                              [out, *grads])
            if wrong:
                print(f"{name:34s} NO FIGURE: the master's LSTM is wrong here ({wrong})")
                failures.append(name)
                continue
            ours(), theirs()  # warm-up
            mine, torchs = [], []
            for _ in range(REPEATS):  # interleaved, so that a drift in the machine's speed hits both
                mine.append(best_of(ours, 1))
                torchs.append(best_of(theirs, 1))
            t_ours, t_torch = min(mine), min(torchs)
            # matrix products: forward x Wx and h Wh; backward dx, dh_prev, dWx, dWh
            flops = 3 * 2 * N * T * 4 * H * (D + H)
            rate = flops / t_ours
            print(f"{name:34s} {t_ours * 1e3:10.2f} {t_torch * 1e3:9.2f} {t_ours / t_torch:6.2f} {rate / 1e9:8.1f} "
                  f"{rate / gemm:8.0%}")

    if failures:
        print(f"no figure for {len(failures)} shape(s): the master disagrees with torch there")
        sys.exit(1)


if __name__ == "__main__":
    main()
