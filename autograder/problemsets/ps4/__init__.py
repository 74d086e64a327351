"""Problem set 4: ConvNets.

Week 3's layer contract and drivers: a forward is graded on ``out``, a backward after the student's own
forward with a random ``dout`` against autograd through ``F.conv2d``, ``F.max_pool2d`` and
``F.avg_pool2d``. Images are NCHW and convolution is cross-correlation, as in PyTorch. The vectorized
``conv_forward`` also has a speed case: its time budget is a multiple of the master solution's time,
measured by the same grading run on the same machine (``budget_vs_master``), so a loop over every
output entry runs out of time while any vectorized version (im2col, einsum) has room to spare. The
small ConvNet is graded like week 3's MLP: exactly against ``torch.optim.SGD`` and by held-out accuracy.
"""
from __future__ import annotations

from functools import partial

import numpy as np
import torch
import torch.nn.functional as F

from autograder.problemsets._shared import digits_split, grads_of, held_out_problem, layer_pair, leaf, train_torch_sgd
from autograder.registry import Case, GradedFunction, Misconception, ProblemSet

RTOL, ATOL = 1e-5, 1e-5  # outputs are O(1) to O(10): room for float32 arithmetic; every planted bug is off by far more


# ------------------------------------------------------------------ output size
def output_size_cases(rng):
    size = int(rng.integers(10, 40))
    return [
        Case("random: size 10-40, kernel 3, stride 1, padding 1", (size, 3, 1, 1)),
        Case("stride 2 that does not divide: the floor", (2 * size + 1, 4, 2, 0)),
        Case("stride 3 larger than padding 1", (size, 3, 3, 1)),
        Case("a kernel as large as the padded input: one output", (size, size + 2, 1, 1)),
        Case("kernel 1, no padding: the same size", (size, 1, 1, 0)),
        Case("large padding, stride 2", (size, 5, 2, 3)),
        Case("stride 3 that leaves two of three: the floor, not the nearest", (3 * size + 2, 3, 3, 0)),
    ]


def output_size_reference(size, kernel, stride, padding):
    x, w = torch.zeros(1, 1, size, 1, dtype=torch.float64), torch.zeros(1, 1, kernel, 1, dtype=torch.float64)
    return torch.tensor(F.conv2d(x, w, stride=(stride, 1), padding=(padding, 0)).shape[2])


# ------------------------------------------------------------------ convolution
CONV_SHAPES = [  # (label, N, C, H, W, F, kh, kw, stride, padding)
    ("random, N=2, C=3, 7 x 9 input, 4 filters of 3 x 2, stride 1, padding 1", 2, 3, 7, 9, 4, 3, 2, 1, 1),
    ("stride 2, padding 1, 8 x 8, 3 x 3 kernels", 2, 2, 8, 8, 3, 3, 3, 2, 1),
    ("stride 3 larger than padding 1, 10 x 11 input", 2, 2, 10, 11, 2, 3, 3, 3, 1),
    ("a kernel as large as the padded input (4 x 5, padding 1, kernel 6 x 7): a 1 x 1 output", 3, 2, 4, 5, 2, 6, 7, 1, 1),
    ("a batch of one, one channel, no padding", 1, 1, 5, 6, 2, 3, 3, 1, 0),
    ("stride 2 that does not divide (9 x 9, kernel 4, no padding)", 2, 3, 9, 9, 3, 4, 4, 2, 0),
]
SPEED_SHAPE = (32, 8, 32, 32, 16, 3, 3, 1, 1)


def conv_cases(rng, backward=False, speed=False):
    cases = []
    shapes = list(CONV_SHAPES)
    if speed:
        shapes.append(("speed: 32 images of 8 x 32 x 32, 16 filters of 3 x 3, padding 1", *SPEED_SHAPE))
    for label, n, c, h, w, f, kh, kw, stride, padding in shapes:
        x, W, b = rng.normal(size=(n, c, h, w)), rng.normal(size=(f, c, kh, kw)), rng.normal(size=f)
        if backward:
            ho, wo = (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1
            cases.append(Case(label, (x, W, b, stride, padding, rng.normal(size=(n, f, ho, wo)))))
        else:
            cases.append(Case(label, (x, W, b, stride, padding)))
    return cases


def conv_reference(x, W, b, stride, padding):
    return F.conv2d(x, W, b, stride=stride, padding=padding)


def conv_backward_reference(x, W, b, stride, padding, dout):
    x, W, b = leaf(x), leaf(W), leaf(b)
    return grads_of(F.conv2d(x, W, b, stride=stride, padding=padding), (x, W, b), dout)


def conv_flipped(x, W, b, stride, padding):
    """Known mistake: the textbook convolution (kernel flipped), not cross-correlation."""
    return F.conv2d(x, W.flip(-1, -2), b, stride=stride, padding=padding)


def conv_padded_one_side(x, W, b, stride, padding):
    """Known mistake: zero padding added at the top and left only."""
    return F.conv2d(F.pad(x, (padding, 0, padding, 0)), W, b, stride=stride)


def conv_db_not_summed(x, W, b, stride, padding, dout):
    """Known mistake: db summed over the batch only, one value per output position."""
    dx, dW, _ = conv_backward_reference(x, W, b, stride, padding, dout)
    return dx, dW, dout.sum(dim=0)


# ------------------------------------------------------------------ dilated convolution
DILATED_SHAPES = [  # (label, N, C, H, W, F, kh, kw, stride, padding, dilation)
    ("dilation 3, a non-square 2 x 3 kernel, padding 1, 12 x 10 input", 2, 3, 12, 10, 3, 2, 3, 1, 1, 3),
    ("sizes the stride does not divide: 12 x 14, kernel 3, dilation 2, stride 2, no padding",
     2, 2, 12, 14, 3, 3, 3, 2, 0, 2),
    ("a batch of one, one channel, dilation 2, stride 3 that does not divide, padding 1, 10 x 13",
     1, 1, 10, 13, 2, 3, 3, 3, 1, 2),
    ("dilation 1: the ordinary convolution, stride 2, padding 1", 2, 2, 7, 9, 3, 3, 2, 2, 1, 1),
    ("a dilated kernel as large as the input (3 x 4 kernel, dilation 2 covers 5 x 7): a 1 x 1 output",
     3, 2, 5, 7, 2, 3, 4, 1, 0, 2),
]


def dilated_cases(rng):
    h, w = int(rng.integers(8, 15)), int(rng.integers(8, 15))
    d, s, p = int(rng.integers(2, 4)), int(rng.integers(1, 3)), int(rng.integers(0, 3))
    shapes = [("random: 2 images of 3 channels, 8-14 x 8-14 pixels, 4 filters of 3 x 3, dilation 2-3, stride 1-2, "
               "padding 0-2", 2, 3, h, w, 4, 3, 3, s, p, d)] + DILATED_SHAPES
    return [Case(label, (rng.normal(size=(n, c, hh, ww)), rng.normal(size=(f, c, kh, kw)), rng.normal(size=f),
                         stride, padding, dilation))
            for label, n, c, hh, ww, f, kh, kw, stride, padding, dilation in shapes]


def dilated_reference(x, W, b, stride, padding, dilation):
    return F.conv2d(x, W, b, stride=stride, padding=padding, dilation=dilation)


def dilated_flipped(x, W, b, stride, padding, dilation):
    """Known mistake: the kernel flipped (textbook convolution)."""
    return F.conv2d(x, W.flip(-1, -2), b, stride=stride, padding=padding, dilation=dilation)


def dilated_as_stride(x, W, b, stride, padding, dilation):
    """Known mistake: the dilation used as the stride of the window (the taps stay adjacent)."""
    return F.conv2d(x, W, b, stride=stride * dilation, padding=padding)


# ------------------------------------------------------------------ pooling
POOL_SHAPES = [  # (label, N, C, H, W, kernel, stride, values: "normal", "ties" (small integers) or "negative")
    ("random, 2 x 3 x 6 x 8, kernel 2, stride 2", 2, 3, 6, 8, 2, 2, "normal"),
    ("overlapping windows, kernel 3, stride 2, 7 x 9", 2, 2, 7, 9, 3, 2, "normal"),
    ("stride 3 larger than kernel 2 (gaps), 8 x 8", 1, 2, 8, 8, 2, 3, "normal"),
    ("a batch of one, one channel, non-square 5 x 9, kernel 3, stride 1", 1, 1, 5, 9, 3, 1, "normal"),
    ("every value negative: each window's maximum is below 0, kernel 2, stride 1", 2, 2, 5, 6, 2, 1, "negative"),
    ("ties: small integers, kernel 2, stride 2", 2, 2, 6, 6, 2, 2, "ties"),
    ("ties in overlapping windows: kernel 3, stride 1", 1, 2, 5, 6, 3, 1, "ties"),
    # sizes the stride does not divide: the last rows and columns that fit no whole window are left out (floor, not
    # ceil; (7 - 2) / 2 and (9 - 2) / 2 end in .5, (8 - 3) / 2 and (10 - 3) / 2 too, and (11 - 3) / 3 in .67)
    ("sizes the stride does not divide: 7 x 9, kernel 2, stride 2", 2, 2, 7, 9, 2, 2, "normal"),
    ("sizes the stride does not divide: 11 x 8, kernel 3, stride 3", 1, 3, 11, 8, 3, 3, "normal"),
]


def pool_cases(rng, backward=False, ties=True):
    cases = []
    for label, n, c, h, w, k, s, values in POOL_SHAPES:
        if values == "ties" and not ties:
            continue
        if values == "ties":
            x = rng.integers(0, 3, size=(n, c, h, w)).astype(float)
        else:
            x = rng.normal(size=(n, c, h, w))
            x = -np.abs(x) - 0.5 if values == "negative" else x
        if backward:
            ho, wo = (h - k) // s + 1, (w - k) // s + 1
            cases.append(Case(label, (x, k, s, rng.normal(size=(n, c, ho, wo)))))
        else:
            cases.append(Case(label, (x, k, s)))
    return cases


def max_pool_reference(x, kernel, stride):
    return F.max_pool2d(x, kernel, stride)


def max_pool_backward_reference(x, kernel, stride, dout):
    x = leaf(x)
    return grads_of(F.max_pool2d(x, kernel, stride), (x,), dout)[0]


def max_pool_to_every_tie(x, kernel, stride, dout):
    """Known mistake: each window's gradient sent to every element equal to its maximum."""
    n, c, h, w = x.shape
    out = F.max_pool2d(x, kernel, stride)
    dx = torch.zeros_like(x)
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            window = x[:, :, i * stride:i * stride + kernel, j * stride:j * stride + kernel]
            is_max = (window == out[:, :, i:i + 1, j:j + 1]).to(x.dtype)
            dx[:, :, i * stride:i * stride + kernel, j * stride:j * stride + kernel] += is_max * dout[:, :, i:i + 1, j:j + 1]
    return dx


def avg_pool_reference(x, kernel, stride):
    return F.avg_pool2d(x, kernel, stride)


def avg_pool_backward_reference(x, kernel, stride, dout):
    x = leaf(x)
    return grads_of(F.avg_pool2d(x, kernel, stride), (x,), dout)[0]


# ------------------------------------------------------------------ text: conv1d and k-max pooling
def conv1d_cases(rng):
    specs = [("random: 2 sentences of 9 words, embeddings of 5, 3 filters of width 3", 2, 5, 9, 3, 3),
             ("filters of width 1", 2, 4, 6, 2, 1),
             ("a filter as wide as the sentence: one output", 3, 4, 5, 2, 5),
             ("one sentence, one filter", 1, 6, 8, 1, 2)]
    return [Case(label, (rng.normal(size=(n, e, length)), rng.normal(size=(f, e, k)), rng.normal(size=f)))
            for label, n, e, length, f, k in specs]


def conv1d_reference(x, W, b):
    return F.conv1d(x, W, b)


TIES = ("ties",)  # a k-max case with tied values: judged by kmax_ties_check, which accepts any tied position


def kmax_cases(rng):
    tied_row = rng.permutation([2.0, 2.0, 2.0, 5.0, 1.0, 0.0, 1.0])  # the 5, then two of the three 2s
    return [
        Case("random, 2 x 3 channels x 10 positions, k=3", (rng.normal(size=(2, 3, 10)), 3)),
        Case("k=1: the maximum of each channel", (rng.normal(size=(2, 2, 7)), 1)),
        Case("k equal to the length: everything, in order", (rng.normal(size=(1, 2, 5)), 5)),
        Case("largest values at the end, then the start (order must be kept)",
             (np.array([[[0.1, 5.0, -1.0, 3.0, 4.0, 0.2]]]), 3)),
        Case("a batch of one, one channel, all negative", (-np.abs(rng.normal(size=(1, 1, 8))) - 0.1, 4)),
        Case("ties at the k-th largest value (any of the tied positions may be kept)",
             (np.stack([tied_row, -tied_row])[None], 3), private=TIES),
        Case("small integers, many ties, 2 x 3 channels x 9 positions, k=4",
             (rng.integers(0, 4, size=(2, 3, 9)).astype(float), 4), private=TIES),
    ]


def kmax_reference(x, k):
    """torch.topk, its positions sorted, then a gather. Which of several tied values topk keeps is not specified,
    so cases with ties are judged by kmax_ties_check instead."""
    positions = torch.topk(x, k, dim=-1).indices.sort(dim=-1).values
    return torch.gather(x, -1, positions)


def kmax_ties_check(case, got, expected=None):
    """Any tie-break is right: each channel's output must hold the k largest values of the row (as a multiset)
    and be a subsequence of the row, so they appear in the sentence's order."""
    x, k = case.args
    want = x.shape[:-1] + (k,)
    try:
        got = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return f"the result is not an array of numbers; expected shape {want}"
    if got.shape != want:
        return f"shape {got.shape}, expected {want}"
    for index in np.ndindex(*x.shape[:-1]):
        row, kept = x[index], got[index]
        if not np.array_equal(np.sort(kept), np.sort(row)[len(row) - k:]):
            return f"channel {index}: these are not the {k} largest values of the row"
        rest = iter(row)
        if not all(any(value == other for other in rest) for value in kept):
            return f"channel {index}: the {k} largest values, but not in the order in which they occur in the row"
    return None


def kmax_sorted_by_value(x, k):
    """Known mistake: the k largest values in decreasing order, not in their order in the sentence."""
    return torch.topk(x, k, dim=-1).values


# ------------------------------------------------------------------ a small ConvNet on digits
ACCURACY_NEEDED = 0.98  # above the week-3 MLP's 97 %


def convnet_params(rng, filters):
    return {"W1": rng.normal(size=(filters, 1, 3, 3)) * np.sqrt(2.0 / 9), "b1": np.zeros(filters),
            "W2": rng.normal(size=(filters * 16, 10)) * np.sqrt(2.0 / (filters * 16)), "b2": np.zeros(10)}


def train_convnet_cases(rng):
    X_train, y_train, X_test, y_test = digits_split(rng)
    X_train, X_test = X_train.reshape(-1, 1, 8, 8), X_test.reshape(-1, 1, 8, 8)
    exact = [  # (what, n, filters, epochs, batch_size, learning_rate, momentum)
        ("minibatches of 8, the last one smaller (6), momentum 0.9, 2 epochs", 30, 4, 2, 8, 0.1, 0.9),
        ("a last minibatch of one example that matters (17 = 16 + 1), 3 epochs", 17, 3, 3, 16, 0.2, 0.5),
        ("plain SGD (minibatches of one, momentum 0), 1 epoch", 10, 2, 1, 1, 0.05, 0.0),
        ("one full batch, momentum 0.9, 4 epochs", 20, 4, 4, 20, 0.3, 0.9),
    ]
    cases = []
    for what, n, filters, epochs, batch, lr, mu in exact:
        rows = rng.choice(len(y_train), size=n, replace=False)
        cases.append(Case(f"exact: {n} digits, {filters} filters, {what}, step {lr:g}",
                          (X_train[rows], y_train[rows], convnet_params(rng, filters), epochs, batch, lr, mu,
                           int(rng.integers(0, 2 ** 31)))))
    cases.append(Case("held-out accuracy: 1257 training / 540 held-out digits, 16 filters, 15 epochs, minibatches of 32, "
                      "step 0.05, momentum 0.9",
                      (X_train, y_train, convnet_params(rng, 16), 15, 32, 0.05, 0.9, int(rng.integers(0, 2 ** 31))),
                      private=(X_test, y_test)))
    return cases


def convnet_scores_torch(params, X):
    h = F.max_pool2d(torch.relu(F.conv2d(X, params["W1"], params["b1"], padding=1)), 2, 2)
    return h.reshape(h.shape[0], -1) @ params["W2"] + params["b2"]


def train_convnet_reference(*args):
    return train_torch_sgd(convnet_scores_torch, *args)


def train_convnet_summed(*args):
    """Known mistake: each step on the minibatch's summed loss instead of its mean."""
    return train_torch_sgd(convnet_scores_torch, *args, reduction="sum")


def convnet_predict(params, X):
    W1, b1 = params["W1"], params["b1"]
    n, f = X.shape[0], W1.shape[0]
    padded = np.pad(X, ((0, 0), (0, 0), (1, 1), (1, 1)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(2, 3))  # n, 1, 8, 8, 3, 3
    h = np.maximum(np.einsum("ncijkl,fckl->nfij", windows, W1) + b1[None, :, None, None], 0.0)
    pooled = h.reshape(n, f, 4, 2, 4, 2).max(axis=(3, 5))
    return np.argmax(pooled.reshape(n, -1) @ params["W2"] + params["b2"], axis=1)


def train_convnet_check(case, got, expected=None):
    """Held-out accuracy of the returned weights: 98 %, above the week-3 MLP (see ps3's held_out_problem)."""
    return held_out_problem(case, got, expected, convnet_predict, ACCURACY_NEEDED)


FLIPPED = "the kernel flipped (textbook convolution); this layer is cross-correlation, no flip"
ONE_SIDE = "zero padding added on one side only; it goes on all four sides"

PROBLEM_SET = ProblemSet(
    name="ps4",
    title="Problem set 4: ConvNets",
    functions=(
        GradedFunction(name="conv_output_size", signature="conv_output_size(size, kernel, stride, padding)",
                       returns=("size",), points=1, make_cases=output_size_cases, reference=output_size_reference,
                       rtol=0, atol=0),
        GradedFunction(name="conv_forward_naive", signature="conv_forward_naive(x, W, b, stride, padding)",
                       returns=("out",), points=2, make_cases=conv_cases, reference=conv_reference, rtol=RTOL,
                       atol=ATOL, driver="forward",
                       # (padding on one side only is not named here: a loop that pads one side but sizes its
                       # output for both crashes on a window that runs off the edge, so nothing can be compared)
                       misconceptions=(Misconception("flipped", conv_flipped, FLIPPED),)),
        *layer_pair("conv", "x, W, b, stride, padding", points=(3, 4), cases=conv_cases,
                    references=(conv_reference, conv_backward_reference), grads=("dx", "dW", "db"),
                    rtol=RTOL, atol=ATOL,
                    forward=dict(make_cases=lambda rng: conv_cases(rng, speed=True),
                                 budget_vs_master=25.0, time_limit_s=30.0,
                                 misconceptions=(Misconception("flipped", conv_flipped, FLIPPED),
                                                 Misconception("padded_one_side", conv_padded_one_side, ONE_SIDE))),
                    backward=dict(misconceptions=(Misconception("db_not_summed", conv_db_not_summed,
                                                                "db not summed over every output position; a shared "
                                                                "bias collects the gradient of each"),))),
        GradedFunction(name="conv_dilated_forward",
                       signature="conv_dilated_forward(x, W, b, stride, padding, dilation)", returns=("out",), points=2,
                       make_cases=dilated_cases, reference=dilated_reference, rtol=RTOL, atol=ATOL, driver="forward",
                       misconceptions=(Misconception("flipped", dilated_flipped, FLIPPED),
                                       Misconception("dilation_as_stride", dilated_as_stride,
                                                     "the windows moved by the dilation; the dilation spaces the "
                                                     "kernel's taps inside one window, the stride moves the window"))),
        *layer_pair("max_pool", "x, kernel, stride", points=(1, 2), cases=pool_cases,
                    references=(max_pool_reference, max_pool_backward_reference), grads=("dx",), rtol=RTOL, atol=ATOL,
                    backward=dict(misconceptions=(Misconception("every_tie", max_pool_to_every_tie,
                                                                "the gradient sent to every tied maximum; it goes to "
                                                                "the first one only"),))),
        *layer_pair("avg_pool", "x, kernel, stride", points=(1, 1), cases=partial(pool_cases, ties=False),
                    references=(avg_pool_reference, avg_pool_backward_reference), grads=("dx",), rtol=RTOL, atol=ATOL),
        GradedFunction(name="conv1d_forward", signature="conv1d_forward(x, W, b)", returns=("out",), points=1,
                       make_cases=conv1d_cases, reference=conv1d_reference, rtol=RTOL, atol=ATOL, driver="forward",
                       misconceptions=(Misconception("flipped", lambda x, W, b: F.conv1d(x, W.flip(-1), b), FLIPPED),)),
        GradedFunction(name="kmax_pool", signature="kmax_pool(x, k)", returns=("out",), points=2, make_cases=kmax_cases,
                       reference=kmax_reference, rtol=RTOL, atol=ATOL, check=kmax_ties_check,
                       misconceptions=(Misconception("sorted_by_value", kmax_sorted_by_value,
                                                     "the k largest sorted by value; they keep their order in the "
                                                     "sentence"),)),
        GradedFunction(name="train_convnet",
                       signature="train_convnet(X, y, params, epochs, batch_size, learning_rate, momentum, seed)",
                       returns=("params",), points=4, make_cases=train_convnet_cases, reference=train_convnet_reference,
                       rtol=1e-9, atol=1e-11, check=train_convnet_check, driver="keeps_inputs", time_limit_s=120.0,
                       cpu_s=240, memory_mb=1024,
                       uses=("conv_forward", "conv_backward", "max_pool_forward", "max_pool_backward"),
                       misconceptions=(Misconception("summed", train_convnet_summed,
                                                     "each step on the minibatch's summed loss; the step takes the "
                                                     "gradient of its mean"),)),
    ),
)
