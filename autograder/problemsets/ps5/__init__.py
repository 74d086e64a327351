"""Problem set 5: RNNs, LSTMs and GRUs.

Week 3's layer contract, with hidden states: a step or sequence forward returns its states and a cache, a
backward runs right after the student's own forward with random upstream gradients, and each gradient is
compared by name with autograd. The references are PyTorch's own recurrent layers (``nn.RNNCell``, ``nn.RNN``,
``nn.LSTMCell``, ``nn.LSTM``, ``nn.GRUCell``) called with the student's weights mapped (transposed) through
``torch.func.functional_call``, so autograd gives the gradients in the student's layout. The decks' LSTM
variants (the output gate reading the new cell state; all three gates reading the old one; coupled input and forget
gates) have no torch layer: their references are the same equations in torch ops, the last two written on the
slide's concatenations. The truncated-BPTT character model is graded like week 3's training loops: exactly
against the same torch model trained the same way (clipping by ``clip_grad_norm_`` included), and by its
held-out cross-entropy, computed here.
"""
from __future__ import annotations

import math
from functools import partial

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call

from autograder.problemsets._shared import grads_of, layer_pair, leaf, params_problem
from autograder.registry import Case, GradedFunction, Misconception, ProblemSet

# Room for float32 arithmetic (a correct alternative) through a few steps of saturated units: over 400 seeds a float32
# step function put rnn_backward 3.9 x and lstm_forward 0.8 x over 1e-4 / 1e-5 (the large-weights case: 1 - h^2
# cancels, and Wh of scale 4 amplifies it through time); at 1e-3 / 1e-4 the worst is 0.39 x. Every planted bug is
# off by far more.
RTOL, ATOL = 1e-3, 1e-4

# (label, N, T, D, H, weight scale, initial state scale)
SHAPES = [
    ("random: N=3, T=5, D=4, H=6, non-zero initial state", 3, 5, 4, 6, 0.5, 1.0),
    ("a batch of one (N=1), T=4, D=3, H=5", 1, 4, 3, 5, 0.5, 1.0),
    ("length 1 (T=1), N=2, D=5, H=3", 2, 1, 5, 3, 0.5, 1.0),
    ("hidden larger than input: D=2, H=7, T=6", 2, 6, 2, 7, 0.5, 1.0),
    ("zero initial state, N=4, T=3, D=6, H=4", 4, 3, 6, 4, 0.5, 0.0),
    ("large weights: saturated gates and tanh, N=2, T=4, D=3, H=4", 2, 4, 3, 4, 4.0, 1.0),
]


def _zeros(n, like):
    return torch.zeros(n, dtype=like.dtype, device=like.device)


# ------------------------------------------------------------------ the vanilla RNN
def rnn_cases(rng, step=False, backward=False):
    cases = []
    for label, n, t, d, h, scale, init in SHAPES:
        if step and t > 1:
            label = label.replace(f"T={t}, ", "").replace(f", T={t}", "")
        x = rng.normal(size=(n, d) if step else (n, t, d))
        h0 = rng.normal(size=(n, h)) * init
        Wx, Wh, b = rng.normal(size=(d, h)) * scale, rng.normal(size=(h, h)) * scale, rng.normal(size=h) * scale
        args = (x, h0, Wx, Wh, b)
        if backward:
            args += (rng.normal(size=(n, h) if step else (n, t, h)),)
        cases.append(Case(label, args))
    # pre-activations beyond +-790 in every unit: tanh is +-1 there (its derivative 0), while e^a overflows past 709,
    # so a tanh written from exponentials gives NaN
    n, t, d, h = 2, 3, 3, 4
    x, h0 = rng.normal(size=(n, d) if step else (n, t, d)), rng.normal(size=(n, h))
    Wx, Wh = rng.uniform(-0.5, 0.5, size=(d, h)), rng.uniform(-0.5, 0.5, size=(h, h))
    b = 800.0 * np.where(np.arange(h) % 2 == 0, 1.0, -1.0)
    args = (x, h0, Wx, Wh, b) + ((rng.normal(size=(n, h) if step else (n, t, h)),) if backward else ())
    label = "saturated beyond overflow: pre-activations of about +-800" + ("" if step else f", T={t}")
    cases.append(Case(label, args))
    return cases


def rnn_weights(Wx, Wh, b, suffix=""):
    return {f"weight_ih{suffix}": Wx.T, f"weight_hh{suffix}": Wh.T, f"bias_ih{suffix}": b,
            f"bias_hh{suffix}": _zeros(b.shape[0], b)}


def rnn_step_reference(x, h_prev, Wx, Wh, b):
    cell = nn.RNNCell(Wx.shape[0], Wx.shape[1], nonlinearity="tanh", dtype=x.dtype, device=x.device)
    return functional_call(cell, rnn_weights(Wx, Wh, b), (x, h_prev))


def rnn_step_backward_reference(x, h_prev, Wx, Wh, b, dh):
    inputs = tuple(leaf(v) for v in (x, h_prev, Wx, Wh, b))
    return grads_of(rnn_step_reference(*inputs), inputs, dh)


def rnn_sequence_reference(x, h0, Wx, Wh, b):
    rnn = nn.RNN(Wx.shape[0], Wx.shape[1], nonlinearity="tanh", batch_first=True, dtype=x.dtype, device=x.device)
    return functional_call(rnn, rnn_weights(Wx, Wh, b, "_l0"), (x, h0[None]))[0]


def rnn_backward_reference(x, h0, Wx, Wh, b, dh):
    inputs = tuple(leaf(v) for v in (x, h0, Wx, Wh, b))
    return grads_of(rnn_sequence_reference(*inputs), inputs, dh)


def rnn_backward_cut(x, h0, Wx, Wh, b, dh):
    """Known mistake: backprop through time without the gradient that flows from step t+1 back into h_t."""
    inputs = x, h0, Wx, Wh, b = tuple(leaf(v) for v in (x, h0, Wx, Wh, b))
    h, states = h0, []
    for t in range(x.shape[1]):
        h = torch.tanh(x[:, t] @ Wx + (h if t == 0 else h.detach()) @ Wh + b)
        states.append(h)
    return grads_of(torch.stack(states, dim=1), inputs, dh)


# ------------------------------------------------------------------ gradient-norm clipping
def clip_cases(rng):
    shapes = [(3, 4), (4,), (2, 3, 2)]

    def grads(scale):
        return [rng.normal(size=s) * scale for s in shapes]

    cases = [
        Case("three arrays whose global norm is above max_norm: clipped", (grads(2.0), 1.0)),
        Case("below max_norm: left as they are", (grads(0.1), 100.0)),
        Case("one array, far above max_norm", ([rng.normal(size=(5, 5)) * 50], 0.5)),
        Case("each array below max_norm, their global norm above it", ([np.full(4, 0.2), np.full(4, 0.2), np.full(4, 0.2)], 0.6)),
        Case("exactly at max_norm: the factor max_norm / (norm + 1e-6) is below 1", ([np.array([3.0, 4.0])], 5.0)),
        Case("tiny gradients (norm 2.5e-6) above a tiny max_norm (1e-6): the + 1e-6 in the factor matters",
             ([np.array([1.5e-6, -2.0e-6])], 1e-6)),
        Case("all zeros", ([np.zeros((2, 2)), np.zeros(3)], 1.0)),
    ]
    return cases


def clip_reference(grads, max_norm, per_array=False, scale_up=False):
    params = [torch.zeros_like(g, requires_grad=True) for g in grads]
    for p, g in zip(params, grads):
        p.grad = g.clone()
    total = torch.nn.utils.clip_grad_norm_(params, max_norm)
    if per_array or scale_up:
        clipped = []
        for g in grads:
            factor = max_norm / ((g.norm() if per_array else total) + 1e-6)
            clipped.append(g * (factor if scale_up else torch.clamp(factor, max=1.0)))
        return tuple(clipped), total
    return tuple(p.grad for p in params), total


# ------------------------------------------------------------------ the LSTM
def lstm_cases(rng, step=False, backward=False, peephole=False):
    cases = []
    for label, n, t, d, h, scale, init in SHAPES:
        if step and t > 1:
            label = label.replace(f"T={t}, ", "").replace(f", T={t}", "")
        x = rng.normal(size=(n, d) if step else (n, t, d))
        h0, c0 = rng.normal(size=(n, h)) * init, rng.normal(size=(n, h)) * init
        Wx, Wh, b = rng.normal(size=(d, 4 * h)) * scale, rng.normal(size=(h, 4 * h)) * scale, rng.normal(size=4 * h) * scale
        args = (x, h0, c0, Wx, Wh) + ((rng.normal(size=(h, h)) * scale,) if peephole else ()) + (b,)
        if backward and step:
            args += (rng.normal(size=(n, h)), rng.normal(size=(n, h)))
        elif backward:
            args += (rng.normal(size=(n, t, h)),)
        cases.append(Case(label, args))
    return cases


def lstm_weights(Wx, Wh, b, suffix=""):
    return rnn_weights(Wx, Wh, b, suffix)


def lstm_step_reference(x, h_prev, c_prev, Wx, Wh, b):
    cell = nn.LSTMCell(Wx.shape[0], Wh.shape[0], dtype=x.dtype, device=x.device)
    return functional_call(cell, lstm_weights(Wx, Wh, b), (x, (h_prev, c_prev)))


def lstm_step_backward_reference(x, h_prev, c_prev, Wx, Wh, b, dh, dc):
    inputs = tuple(leaf(v) for v in (x, h_prev, c_prev, Wx, Wh, b))
    h, c = lstm_step_reference(*inputs)
    return torch.autograd.grad((h, c), inputs, (dh, dc))


def lstm_sequence_reference(x, h0, c0, Wx, Wh, b):
    """(every hidden state, every cell state): nn.LSTM for h; nn.LSTMCell step by step for the cell states, which
    nn.LSTM returns for the last step only (the last ones must agree)."""
    lstm = nn.LSTM(Wx.shape[0], Wh.shape[0], batch_first=True, dtype=x.dtype, device=x.device)
    h, (_, c_last) = functional_call(lstm, lstm_weights(Wx, Wh, b, "_l0"), (x, (h0[None], c0[None])))
    hs, cs, state = [], [], (h0, c0)
    for t in range(x.shape[1]):
        state = lstm_step_reference(x[:, t], *state, Wx, Wh, b)
        cs.append(state[1])
    cs = torch.stack(cs, dim=1)
    assert torch.allclose(cs[:, -1], c_last[0], rtol=1e-10, atol=1e-12)
    return h, cs


def lstm_backward_reference(x, h0, c0, Wx, Wh, b, dh):
    inputs = tuple(leaf(v) for v in (x, h0, c0, Wx, Wh, b))
    lstm = nn.LSTM(Wx.shape[0], Wh.shape[0], batch_first=True, dtype=x.dtype, device=x.device)
    h, _ = functional_call(lstm, lstm_weights(*inputs[3:], "_l0"), (inputs[0], (inputs[1][None], inputs[2][None])))
    return grads_of(h, inputs, dh)


def lstm_step_ops(x, h_prev, c_prev, Wx, Wh, b, Wc=None, order="ifgo", squash_cell=True, peek_old_cell=False):
    """One LSTM step in torch ops, for the decks' variant (``Wc``: the output gate reads the new cell state) and
    for the known mistakes: gates read in another ``order``, h = o * c without the tanh, the output gate reading
    the old cell state."""
    H = Wh.shape[0]
    a = x @ Wx + h_prev @ Wh + b
    gate = {name: a[:, k * H:(k + 1) * H] for k, name in enumerate(order)}
    i, f, g = torch.sigmoid(gate["i"]), torch.sigmoid(gate["f"]), torch.tanh(gate["g"])
    c = f * c_prev + i * g
    pre_o = gate["o"] if Wc is None else gate["o"] + (c_prev if peek_old_cell else c) @ Wc
    o = torch.sigmoid(pre_o)
    return o * (torch.tanh(c) if squash_cell else c), c


def step_grads(step, x, h_prev, c_prev, *weights_and_upstream):
    """Gradients of one step written in torch ops: ``weights_and_upstream`` = weights..., dh, dc."""
    *weights, dh, dc = weights_and_upstream
    inputs = tuple(leaf(v) for v in (x, h_prev, c_prev, *weights))
    return torch.autograd.grad(step(*inputs), inputs, (dh, dc))


def lstm_sequence_ops(x, h0, c0, Wx, Wh, b, cut_h=False, **options):
    """Every hidden and cell state of an LSTM in torch ops; ``cut_h``: the known mistake of BPTT that drops the
    gradient flowing from step t+1 into h_t (the cell state's path is kept)."""
    h, c, hs, cs = h0, c0, [], []
    for t in range(x.shape[1]):
        h, c = lstm_step_ops(x[:, t], h if (t == 0 or not cut_h) else h.detach(), c, Wx, Wh, b, **options)
        hs.append(h)
        cs.append(c)
    return torch.stack(hs, dim=1), torch.stack(cs, dim=1)


def lstm_sequence_grads(x, h0, c0, Wx, Wh, b, dh, **options):
    inputs = tuple(leaf(v) for v in (x, h0, c0, Wx, Wh, b))
    return grads_of(lstm_sequence_ops(*inputs, **options)[0], inputs, dh)


IFOG = "the gates read in the order i, f, o, g; the stacked order is i, f, g, o (candidate third, output gate last)"
NO_TANH = "h = o * c: the cell state is not squashed by tanh before the output gate"
CUT = "backprop through time without the gradient that flows from step t+1 back into h_t (add it to dh at step t)"


def lstm_variants(kind):
    """Known mistakes of the LSTM's step and sequence forward: gates read i, f, o, g; h = o * c."""
    def make(options):
        if kind == "step":
            return lambda *a: lstm_step_ops(*a, **options)
        return lambda *a: lstm_sequence_ops(*a, **options)

    return (Misconception("ifog", make({"order": "ifog"}), IFOG),
            Misconception("no_tanh", make({"squash_cell": False}), NO_TANH))


def lstm_backward_cut(*args):
    """Known mistake: BPTT without the gradient flowing from step t+1 into h_t (the cell state's path kept)."""
    return lstm_sequence_grads(*args, cut_h=True)


# ------------------------------------------------------------------ the decks' variant: the output gate reads c_t
def peephole_step_reference(x, h_prev, c_prev, Wx, Wh, Wc, b):
    return lstm_step_ops(x, h_prev, c_prev, Wx, Wh, b, Wc=Wc)


def peephole_step_backward_reference(x, h_prev, c_prev, Wx, Wh, Wc, b, dh, dc):
    return step_grads(peephole_step_reference, x, h_prev, c_prev, Wx, Wh, Wc, b, dh, dc)


OLD_CELL = "the output gate reads the old cell state c_{t-1}; in this variant it reads the new one, c_t"


def peephole_old_cell(x, h_prev, c_prev, Wx, Wh, Wc, b):
    return lstm_step_ops(x, h_prev, c_prev, Wx, Wh, b, Wc=Wc, peek_old_cell=True)


# ------------------------------------------------------------------ the IFT6758 deck's forms: all gates peek, coupled gates
def lstm_form_cases(rng, form, backward=False):
    """One step of the coupled LSTM ("coupled": Wx (D, 3H), Wh (H, 3H), b (3H,), gates f, g, o) or of the LSTM whose
    three gates read the old cell ("all_peephole": Wc (H, 3H) for i, f, o); the shapes of the other steps."""
    cases = []
    for label, n, t, d, h, scale, init in SHAPES:
        if t > 1:
            label = label.replace(f"T={t}, ", "").replace(f", T={t}", "")
        blocks = 3 if form == "coupled" else 4
        x = rng.normal(size=(n, d))
        h0, c0 = rng.normal(size=(n, h)) * init, rng.normal(size=(n, h)) * init
        Wx, Wh = rng.normal(size=(d, blocks * h)) * scale, rng.normal(size=(h, blocks * h)) * scale
        extra = (rng.normal(size=(h, 3 * h)) * scale,) if form == "all_peephole" else ()
        b = rng.normal(size=blocks * h) * scale
        args = (x, h0, c0, Wx, Wh) + extra + (b,)
        if backward:
            args += (rng.normal(size=(n, h)), rng.normal(size=(n, h)))
        cases.append(Case(label, args))
    return cases


def coupled_step_reference(x, h_prev, c_prev, Wx, Wh, b):
    """The slide's coupled cell, c_t = f * c_(t-1) + (1 - f) * c~_t, each gate sigma(W . [h_(t-1), x_t] + b)."""
    H = Wh.shape[0]
    xh = torch.cat([h_prev, x], dim=1)
    W = torch.cat([Wh, Wx], dim=0)                       # rows for [h_(t-1), x_t]
    f = torch.sigmoid(xh @ W[:, :H] + b[:H])
    candidate = torch.tanh(xh @ W[:, H:2 * H] + b[H:2 * H])
    o = torch.sigmoid(xh @ W[:, 2 * H:] + b[2 * H:])
    c = f * c_prev + (1 - f) * candidate
    return o * torch.tanh(c), c


def coupled_step_backward_reference(x, h_prev, c_prev, Wx, Wh, b, dh, dc):
    return step_grads(coupled_step_reference, x, h_prev, c_prev, Wx, Wh, b, dh, dc)


def all_peephole_step_reference(x, h_prev, c_prev, Wx, Wh, Wc, b):
    """The slide's gates, sigma(W . [c_(t-1), h_(t-1), x_t] + b) for i, f and o, written literally on a concatenation."""
    H = Wh.shape[0]
    chx = torch.cat([c_prev, h_prev, x], dim=1)
    zeros = torch.zeros(H, H, dtype=Wc.dtype, device=Wc.device)
    peeks = {"i": Wc[:, :H], "f": Wc[:, H:2 * H], "g": zeros, "o": Wc[:, 2 * H:]}
    gate = {name: chx @ torch.cat([peeks[name], Wh[:, k * H:(k + 1) * H], Wx[:, k * H:(k + 1) * H]]) + b[k * H:(k + 1) * H]
            for k, name in enumerate("ifgo")}
    i, f, o = torch.sigmoid(gate["i"]), torch.sigmoid(gate["f"]), torch.sigmoid(gate["o"])
    c = f * c_prev + i * torch.tanh(gate["g"])
    return o * torch.tanh(c), c


def all_peephole_step_backward_reference(x, h_prev, c_prev, Wx, Wh, Wc, b, dh, dc):
    return step_grads(all_peephole_step_reference, x, h_prev, c_prev, Wx, Wh, Wc, b, dh, dc)


# ------------------------------------------------------------------ the GRU
def gru_cases(rng, backward=False):
    cases = []
    for label, n, t, d, h, scale, init in SHAPES:
        if t > 1:
            label = label.replace(f"T={t}, ", "").replace(f", T={t}", "")
        label = label.replace(" and tanh", "").replace("initial state", "previous state")
        x, h_prev = rng.normal(size=(n, d)), rng.normal(size=(n, h)) * init
        Wx, Wh = rng.normal(size=(d, 3 * h)) * scale, rng.normal(size=(h, 3 * h)) * scale
        bx, bh = rng.normal(size=3 * h) * scale, rng.normal(size=3 * h) * scale
        args = (x, h_prev, Wx, Wh, bx, bh) + ((rng.normal(size=(n, h)),) if backward else ())
        cases.append(Case(label, args))
    return cases


def gru_step_reference(x, h_prev, Wx, Wh, bx, bh):
    cell = nn.GRUCell(Wx.shape[0], Wh.shape[0], dtype=x.dtype, device=x.device)
    return functional_call(cell, {"weight_ih": Wx.T, "weight_hh": Wh.T, "bias_ih": bx, "bias_hh": bh}, (x, h_prev))


def gru_step_backward_reference(x, h_prev, Wx, Wh, bx, bh, dh):
    inputs = tuple(leaf(v) for v in (x, h_prev, Wx, Wh, bx, bh))
    return grads_of(gru_step_reference(*inputs), inputs, dh)


def gru_step_ops(x, h_prev, Wx, Wh, bx, bh, reset_first=False, z_swapped=False):
    """A GRU step in torch ops for the known mistakes: the reset gate applied to h_prev before the hidden matmul
    (the original paper's form), or z and 1 - z swapped."""
    H = Wh.shape[0]
    ax, ah = x @ Wx + bx, h_prev @ Wh + bh
    r = torch.sigmoid(ax[:, :H] + ah[:, :H])
    z = torch.sigmoid(ax[:, H:2 * H] + ah[:, H:2 * H])
    hidden = (r * h_prev) @ Wh[:, 2 * H:] + bh[2 * H:] if reset_first else r * ah[:, 2 * H:]
    n = torch.tanh(ax[:, 2 * H:] + hidden)
    return z * n + (1 - z) * h_prev if z_swapped else (1 - z) * n + z * h_prev


GRU_VARIANTS = (
    Misconception("reset_first", lambda *a: gru_step_ops(*a, reset_first=True),
                  "the reset gate applied before the hidden matmul (the paper's form); here it scales h_prev W_hn + b_hn"),
    Misconception("z_swapped", lambda *a: gru_step_ops(*a, z_swapped=True),
                  "z and 1 - z swapped: h = (1 - z) * n + z * h_prev keeps the old state where z is near 1"),
)


# ------------------------------------------------------------------ truncated BPTT on a character model
SLOTS = [("the", "a"), ("cat", "dog", "fox", "hen"), ("sat", "ran", "hid"), ("on", "by", "in"),
         ("the", "a"), ("mat", "log", "box", "bed")]
CHARS = sorted(set(" ." + "".join(word for slot in SLOTS for word in slot)))
"""The character model's language: sentences such as "the fox hid by a log. ", one word drawn at random per slot;
20 characters. Predicting the next character well takes knowing which word, and which slot, it is in."""
ENTROPY_FLOOR = sum(math.log(len(slot)) for slot in SLOTS) / (
    sum(np.mean([len(word) for word in slot]) + 1 for slot in SLOTS) + 1)  # nats per character, 0.289
LOSS_NEEDED = 0.45  # nats per character: a bigram model gets 1.14, the reference-trained LSTM 0.30-0.33


def text_streams(rng, streams, length):
    """``streams`` independent streams of ``length`` character ids (B, L), each from the start of a sentence."""
    rows = []
    for _ in range(streams):
        ids = []
        while len(ids) < length:
            sentence = " ".join(slot[rng.integers(len(slot))] for slot in SLOTS) + ". "
            ids.extend(CHARS.index(ch) for ch in sentence)
        rows.append(ids[:length])
    return np.array(rows)


def lm_params(rng, hidden):
    V = len(CHARS)
    b = np.zeros(4 * hidden)
    b[hidden:2 * hidden] = 1.0  # forget gates start open
    return {"Wx": rng.normal(size=(V, 4 * hidden)) * 0.3, "Wh": rng.normal(size=(hidden, 4 * hidden)) / np.sqrt(hidden),
            "b": b, "Wy": rng.normal(size=(hidden, V)) / np.sqrt(hidden), "by": np.zeros(V)}


def train_lm_cases(rng):
    exact = [  # (what, streams, length, hidden, epochs, seq_len, learning_rate, max_norm)
        # gradient norms here are about 0.2-0.5 (0.7-1.2 with chunks of one): max_norm clips some steps and not others
        ("4 streams of 23 characters, chunks of 6 (the last one 4), max_norm 0.3 (some steps clipped), 2 epochs",
         4, 23, 5, 2, 6, 0.5, 0.3),
        ("one stream, chunks of 5, never clipped (max_norm 1000), 2 epochs", 1, 16, 4, 2, 5, 1.0, 1000.0),
        ("one chunk longer than the data (seq_len 40 > 17), every step clipped (max_norm 0.1), 3 epochs",
         3, 18, 6, 3, 40, 2.0, 0.1),
        ("chunks of one character (seq_len 1), max_norm 0.9 (some steps clipped), 1 epoch", 2, 9, 3, 1, 1, 0.3, 0.9),
    ]
    cases = []
    for what, b, length, hidden, epochs, seq_len, lr, max_norm in exact:
        cases.append(Case(f"exact: {what}, H={hidden}, step {lr:g}",
                          (text_streams(rng, b, length), lm_params(rng, hidden), epochs, seq_len, lr, max_norm)))
    cases.append(Case("held-out cross-entropy: 16 streams of 400 characters, H=32, 30 epochs, chunks of 25, step 1, "
                      "clipped at 5",
                      (text_streams(rng, 16, 400), lm_params(rng, 32), 30, 25, 1.0, 5.0),
                      private=(text_streams(rng, 16, 300),)))
    return cases


def train_lm_torch(data, params, epochs, seq_len, learning_rate, max_norm, clip=True):
    """The same model trained by torch: nn.LSTM (weights mapped), cross-entropy, clip_grad_norm_, torch.optim.SGD;
    the state carried from chunk to chunk and detached (truncated BPTT)."""
    V, H = params["Wx"].shape[0], params["Wh"].shape[0]
    lstm = nn.LSTM(V, H, batch_first=True, dtype=params["Wx"].dtype, device=data.device)
    P = {k: leaf(v) for k, v in params.items()}
    optimizer = torch.optim.SGD(list(P.values()), lr=learning_rate)
    onehot = F.one_hot(data, V).to(P["Wx"].dtype)
    B, L = data.shape
    for _ in range(epochs):
        h = c = torch.zeros(1, B, H, dtype=P["Wx"].dtype, device=data.device)
        for start in range(0, L - 1, seq_len):
            T = min(seq_len, L - 1 - start)
            out, (h, c) = functional_call(lstm, lstm_weights(P["Wx"], P["Wh"], P["b"], "_l0"),
                                          (onehot[:, start:start + T], (h, c)))
            scores = out @ P["Wy"] + P["by"]
            loss = F.cross_entropy(scores.reshape(-1, V), data[:, start + 1:start + T + 1].reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            if clip:
                torch.nn.utils.clip_grad_norm_(list(P.values()), max_norm)
            optimizer.step()
            h, c = h.detach(), c.detach()
    return {k: v.detach() for k, v in P.items()}


def train_lm_unclipped(*args):
    """Known mistake: no gradient clipping."""
    return train_lm_torch(*args, clip=False)


def _sigmoid(a):
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def lm_cross_entropy(params, data):
    """Mean cross-entropy (nats per character) of the model's next-character predictions over streams ``data``
    (B, L), read from the start with the state carried along, as in training (computed here, in NumPy)."""
    B, L = data.shape
    H = params["Wh"].shape[0]
    h, c, total = np.zeros((B, H)), np.zeros((B, H)), 0.0
    for t in range(L - 1):
        a = params["Wx"][data[:, t]] + h @ params["Wh"] + params["b"]
        i, f, g, o = _sigmoid(a[:, :H]), _sigmoid(a[:, H:2 * H]), np.tanh(a[:, 2 * H:3 * H]), _sigmoid(a[:, 3 * H:])
        c = f * c + i * g
        h = o * np.tanh(c)
        scores = h @ params["Wy"] + params["by"]
        scores = scores - scores.max(axis=1, keepdims=True)
        log_probs = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
        total -= log_probs[np.arange(B), data[:, t + 1]].sum()
    return total / (B * (L - 1))


def train_lm_check(case, got, expected=None):
    """Held-out cross-entropy of the returned weights, at most 0.45 nats per character (a bigram model's is 1.14);
    where the reference's own training falls short of that, within 0.05 of the reference."""
    (held_out,) = case.private
    problem = params_problem(got, case.args[1])
    if problem:
        return problem
    with np.errstate(over="ignore", invalid="ignore"):
        loss = lm_cross_entropy({k: v.astype(np.float64) for k, v in got.items()}, held_out)
    needed = LOSS_NEEDED
    if expected is not None:
        needed = max(needed, lm_cross_entropy(expected, held_out) + 0.05)
    if not np.isfinite(loss) or loss > needed:
        return (f"held-out cross-entropy {loss:.3f} nats per character, above the {needed:.3f} needed "
                f"(the untrained model: about 3.0; the best possible: {ENTROPY_FLOOR:.3f})")
    return None


# what the LSTM layers share: two states out of a forward (its cache dropped), graded through the states drivers
WITH_CELL_STATE = dict(outputs=("h", "c"), drivers=("states", "states_backward"), rtol=RTOL, atol=ATOL)

PROBLEM_SET = ProblemSet(
    name="ps5",
    title="Problem set 5: RNNs, LSTMs and GRUs",
    functions=(
        *layer_pair("rnn_step", "x, h_prev, Wx, Wh, b", points=(1, 2), cases=partial(rnn_cases, step=True),
                    references=(rnn_step_reference, rnn_step_backward_reference), outputs=("h",), upstream=("dh",),
                    grads=("dx", "dh_prev", "dWx", "dWh", "db"), rtol=RTOL, atol=ATOL),
        *layer_pair("rnn", "x, h0, Wx, Wh, b", points=(1, 3), cases=rnn_cases,
                    references=(rnn_sequence_reference, rnn_backward_reference), outputs=("h",), upstream=("dh",),
                    grads=("dx", "dh0", "dWx", "dWh", "db"), rtol=RTOL, atol=ATOL,
                    forward=dict(uses=("rnn_step_forward",)),
                    backward=dict(uses=("rnn_step_backward",),
                                  misconceptions=(Misconception("cut", rnn_backward_cut, CUT),))),
        GradedFunction(name="clip_grad_norm", signature="clip_grad_norm(grads, max_norm)",
                       returns=("clipped", "total_norm"), points=2, make_cases=clip_cases, reference=clip_reference,
                       rtol=1e-5, atol=1e-12, driver="keeps_inputs",  # float32 arithmetic passes
                       misconceptions=(
                           Misconception("per_array", lambda g, m: clip_reference(g, m, per_array=True),
                                         "each array clipped by its own norm; one global norm over all of them "
                                         "keeps the gradient's direction"),
                           Misconception("scale_up", lambda g, m: clip_reference(g, m, scale_up=True),
                                         "the factor max_norm / (norm + 1e-6) applied when it is above 1 too; "
                                         "a gradient below max_norm is left as it is"))),
        *layer_pair("lstm_step", "x, h_prev, c_prev, Wx, Wh, b", points=(2, 3), cases=partial(lstm_cases, step=True),
                    references=(lstm_step_reference, lstm_step_backward_reference), upstream=("dh", "dc"),
                    grads=("dx", "dh_prev", "dc_prev", "dWx", "dWh", "db"), **WITH_CELL_STATE,
                    forward=dict(misconceptions=lstm_variants("step"))),
        *layer_pair("lstm", "x, h0, c0, Wx, Wh, b", points=(1, 3), cases=lstm_cases,
                    references=(lstm_sequence_reference, lstm_backward_reference), upstream=("dh",),
                    grads=("dx", "dh0", "dc0", "dWx", "dWh", "db"), **WITH_CELL_STATE,
                    forward=dict(uses=("lstm_step_forward",), misconceptions=lstm_variants("sequence")),
                    backward=dict(uses=("lstm_step_backward",),
                                  misconceptions=(Misconception("cut", lstm_backward_cut, CUT),))),
        *layer_pair("lstm_peephole_step", "x, h_prev, c_prev, Wx, Wh, Wc, b", points=(1, 2),
                    cases=partial(lstm_cases, step=True, peephole=True),
                    references=(peephole_step_reference, peephole_step_backward_reference), upstream=("dh", "dc"),
                    grads=("dx", "dh_prev", "dc_prev", "dWx", "dWh", "dWc", "db"), **WITH_CELL_STATE,
                    forward=dict(misconceptions=(Misconception("old_cell", peephole_old_cell, OLD_CELL),))),
        *layer_pair("lstm_all_peephole_step", "x, h_prev, c_prev, Wx, Wh, Wc, b", points=(1, 2),
                    cases=partial(lstm_form_cases, form="all_peephole"),
                    references=(all_peephole_step_reference, all_peephole_step_backward_reference),
                    upstream=("dh", "dc"),
                    grads=("dx", "dh_prev", "dc_prev", "dWx", "dWh", "dWc", "db"), **WITH_CELL_STATE),
        *layer_pair("lstm_coupled_step", "x, h_prev, c_prev, Wx, Wh, b", points=(1, 2),
                    cases=partial(lstm_form_cases, form="coupled"),
                    references=(coupled_step_reference, coupled_step_backward_reference), upstream=("dh", "dc"),
                    grads=("dx", "dh_prev", "dc_prev", "dWx", "dWh", "db"), **WITH_CELL_STATE),
        *layer_pair("gru_step", "x, h_prev, Wx, Wh, bx, bh", points=(2, 3), cases=gru_cases,
                    references=(gru_step_reference, gru_step_backward_reference), outputs=("h",), upstream=("dh",),
                    grads=("dx", "dh_prev", "dWx", "dWh", "dbx", "dbh"), rtol=RTOL, atol=ATOL,
                    forward=dict(misconceptions=GRU_VARIANTS)),
        GradedFunction(name="train_lstm_lm",
                       signature="train_lstm_lm(data, params, epochs, seq_len, learning_rate, max_norm)",
                       returns=("params",), points=4, make_cases=train_lm_cases, reference=train_lm_torch, rtol=1e-6,
                       atol=1e-7, check=train_lm_check, driver="keeps_inputs", time_limit_s=120.0, cpu_s=240,
                       memory_mb=1024,
                       uses=("lstm_forward", "lstm_backward", "lstm_step_forward", "lstm_step_backward",
                             "clip_grad_norm"),
                       misconceptions=(Misconception("unclipped", train_lm_unclipped,
                                                     "the gradients are not clipped before the step"),)),
    ),
)
