"""Problem set 5's samples: planted bugs and correct alternatives (full solutions: not installed for students).

As in problem sets 3 and 4: a mutant must cost its own function and nothing beyond the functions that use it by
design (a backward pass is graded after its own forward; a sequence may use its step; the training loop uses the
LSTM and the clipping); an alternative must keep full marks; a dict alternative replaces several cells together
(a forward and its backward that share another cache layout).
"""

LSTM_GATES = "i, f, g, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), np.tanh(a[:, 2 * H:3 * H]), sigmoid(a[:, 3 * H:])"
LSTM_SEQ_GATES = ("        g = np.tanh(gate[:, 2 * H:3 * H])\n"
                  "        sigmoid(gate, out=gate)                         # i, f and o; the candidate's block is overwritten next\n"
                  "        gate[:, 2 * H:3 * H] = g\n"
                  "        i, f, g, o = gate[:, :H], gate[:, H:2 * H], gate[:, 2 * H:3 * H], gate[:, 3 * H:]")
LSTM_SEQ_IFOG = ("        g = np.tanh(gate[:, 3 * H:])\n"
                 "        sigmoid(gate, out=gate)                         # i, f and o; the candidate's block is overwritten next\n"
                 "        gate[:, 3 * H:] = g\n"
                 "        i, f, o, g = gate[:, :H], gate[:, H:2 * H], gate[:, 2 * H:3 * H], gate[:, 3 * H:]")
CLIP_BODY = ("    total_norm = np.sqrt(sum(np.sum(g ** 2) for g in grads))\n"
             "    factor = max_norm / (total_norm + 1e-6)\n"
             "    if factor < 1.0:\n"
             "        return [g * factor for g in grads], total_norm\n"
             "    return [g.copy() for g in grads], total_norm\n")

# the training loop of the master, from its copy of the given params to the update: a planted bug rewrites it to
# update the caller's arrays
TRAIN_LOOP = '''    params = {key: value.copy() for key, value in params.items()}
    keys = list(params)
    for epoch in range(epochs):
        h, c = np.zeros((B, H)), np.zeros((B, H))
        for start in range(0, L - 1, seq_len):
            T = min(seq_len, L - 1 - start)
            _, grads, h, c = lm_loss(params, data[:, start:start + T], data[:, start + 1:start + T + 1], h, c)
            clipped, _ = clip_grad_norm([grads[key] for key in keys], max_norm)
            for key, grad in zip(keys, clipped):
                params[key] = params[key] - learning_rate * grad
'''
TRAIN_LOOP_IN_PLACE = TRAIN_LOOP.replace("params = {key: value.copy() for key, value in params.items()}",
                                         "params = dict(params)").replace(
    "params[key] = params[key] - learning_rate * grad", "params[key] -= learning_rate * grad")

MUTANTS = {
    "rnn_step_forward": [
        ("sigmoid instead of tanh", "h = np.tanh(x @ Wx + h_prev @ Wh + b)", "h = sigmoid(x @ Wx + h_prev @ Wh + b)"),
        ("bias forgotten", "h = np.tanh(x @ Wx + h_prev @ Wh + b)", "h = np.tanh(x @ Wx + h_prev @ Wh)"),
        ("Wh transposed (torch's layout)", "h_prev @ Wh + b", "h_prev @ Wh.T + b"),
        ("no nonlinearity", "h = np.tanh(x @ Wx + h_prev @ Wh + b)", "h = x @ Wx + h_prev @ Wh + b"),
        ("tanh written from exponentials (NaN once e^a overflows)", "h = np.tanh(x @ Wx + h_prev @ Wh + b)",
         "a = x @ Wx + h_prev @ Wh + b\n    h = (np.exp(a) - np.exp(-a)) / (np.exp(a) + np.exp(-a))"),
    ],
    "rnn_step_backward": [
        ("tanh' written as 1 - h", "da = dh * (1.0 - h ** 2)", "da = dh * (1.0 - h)"),
        ("db averaged over the batch", "db = da.sum(axis=0)", "db = da.mean(axis=0)"),
        ("dWh from the gradient before tanh", "dWh = h_prev.T @ da", "dWh = h_prev.T @ dh"),
        ("dh_prev through Wh instead of its transpose", "dh_prev = da @ Wh.T", "dh_prev = da @ Wh"),
    ],
    "rnn_forward": [
        ("h0 ignored (starts from zeros)", "caches, h_t = [], h0", "caches, h_t = [], np.zeros_like(h0)"),
        ("the state not carried: every step from h0", "rnn_step_forward(x[:, t], h_t, Wx, Wh, b)",
         "rnn_step_forward(x[:, t], h0, Wx, Wh, b)"),
        ("the sequence read backwards", "rnn_step_forward(x[:, t], h_t, Wx, Wh, b)",
         "rnn_step_forward(x[:, steps - 1 - t], h_t, Wx, Wh, b)"),
    ],
    "rnn_backward": [
        ("BPTT drops the gradient flowing into h_{t-1}", "rnn_step_backward(dh[:, t] + dh_next, caches[t])",
         "rnn_step_backward(dh[:, t], caches[t])", "cut"),
        ("the shared weights' gradients overwritten, not summed over time",
         "dWx += dWx_t\n        dWh += dWh_t\n        db += db_t", "dWx, dWh, db = dWx_t, dWh_t, db_t"),
        ("dh0 left at zero", "return dx, dh_next, dWx, dWh, db", "return dx, np.zeros_like(dh_next), dWx, dWh, db"),
        ("time walked forwards in the backward pass", "for t in reversed(range(steps)):", "for t in range(steps):"),
        ("the caller's dh added into in place",
         "dx[:, t], dh_next, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t] + dh_next, caches[t])",
         "dh[:, t] += dh_next\n        dx[:, t], dh_next, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t], caches[t])"),
    ],
    "clip_grad_norm": [
        ("each array clipped by its own norm", CLIP_BODY,
         "    total_norm = np.sqrt(sum(np.sum(g ** 2) for g in grads))\n"
         "    return [g * min(1.0, max_norm / (np.sqrt(np.sum(g ** 2)) + 1e-6)) for g in grads], total_norm\n",
         "per_array"),
        ("small gradients scaled up as well", "if factor < 1.0:", "if True:", "scale_up"),
        ("the total norm as the sum of the arrays' norms", "total_norm = np.sqrt(sum(np.sum(g ** 2) for g in grads))",
         "total_norm = sum(np.sqrt(np.sum(g ** 2)) for g in grads)"),
        ("returns the norm after clipping", "return [g * factor for g in grads], total_norm",
         "return [g * factor for g in grads], max_norm"),
        ("the factor without the + 1e-6", "factor = max_norm / (total_norm + 1e-6)", "factor = max_norm / total_norm"),
        ("the given arrays clipped in place", "return [g * factor for g in grads], total_norm",
         "for g in grads:\n            g *= factor\n        return grads, total_norm"),
    ],
    "lstm_step_forward": [
        ("gates in i, f, o, g order", LSTM_GATES,
         "i, f, o, g = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), sigmoid(a[:, 2 * H:3 * H]), np.tanh(a[:, 3 * H:])",
         "ifog"),
        ("tanh(c) omitted from the output", "h = o * tanh_c", "h = o * c", "no_tanh"),
        ("input and forget gates swapped", "c = f * c_prev + i * g", "c = i * c_prev + f * g"),
        ("a sigmoid candidate", "np.tanh(a[:, 2 * H:3 * H])", "sigmoid(a[:, 2 * H:3 * H])"),
    ],
    "lstm_step_backward": [
        ("tanh'(c) missing on the path from h to c", "dc = dc + dh * o * (1.0 - tanh_c ** 2)", "dc = dc + dh * o"),
        ("dc_prev not multiplied by the forget gate", "dc * f, x.T @ da", "dc, x.T @ da"),
        ("the candidate's derivative written as 1 - g", "dc * i * (1.0 - g ** 2)", "dc * i * (1.0 - g)"),
        ("the forget gate's gradient from the new cell state", "dc * c_prev * f * (1.0 - f)",
         "dc * (f * c_prev + i * g) * f * (1.0 - f)"),
        ("the caller's dc added into in place", "dc = dc + dh * o * (1.0 - tanh_c ** 2)", "dc += dh * o * (1.0 - tanh_c ** 2)"),
    ],
    "lstm_forward": [
        ("gates in i, f, o, g order", LSTM_SEQ_GATES, LSTM_SEQ_IFOG, "ifog"),
        ("tanh(c) omitted from the output", "h_t = h[t] = o * tanh_c[t]", "h_t = h[t] = o * c_t", "no_tanh"),
        ("the cell state not carried: every step from c0", "c_t = c[t] = f * c_t + i * g", "c_t = c[t] = f * c0 + i * g"),
        ("the initial state ignored", "h_t, c_t = h0, c0", "h_t, c_t = np.zeros_like(h0), np.zeros_like(c0)"),
    ],
    "lstm_backward": [
        ("BPTT drops the gradient flowing into h_{t-1}", "dh_t = dh[t] + dh_next", "dh_t = dh[t]", "cut"),
        ("the cell state's gradient not carried back", "dc_t = dc_next + dh_t", "dc_t = dh_t"),
        ("dWh from h_t instead of h_{t-1}", "dWh = h_before.reshape(steps * n, H).T @ flat",
         "dWh = h.reshape(steps * n, H).T @ flat"),
        ("dc_{t-1} not multiplied by the forget gate", "dc_next = dc_t * f", "dc_next = dc_t"),
    ],
    "lstm_peephole_step_forward": [
        ("the output gate reads the old cell state", "o = sigmoid(a[:, 3 * H:] + c @ Wc)",
         "o = sigmoid(a[:, 3 * H:] + c_prev @ Wc)", "old_cell"),
        ("Wc transposed", "c @ Wc)", "c @ Wc.T)"),
        ("tanh(c) omitted from the output", "return o * tanh_c, c, (", "return o * c, c, ("),
    ],
    "lstm_peephole_step_backward": [
        ("the path from c through the output gate forgotten", " + do_pre @ Wc.T      # three", "      # three"),
        ("dWc from the old cell state", "c.T @ do_pre", "c_prev.T @ do_pre"),
        ("do_pre @ Wc instead of its transpose", "do_pre @ Wc.T", "do_pre @ Wc"),
    ],
    "lstm_all_peephole_step_forward": [
        ("the output gate reads the new cell state (section 6's choice)",
         "o = sigmoid(a[:, 3 * H:] + peek[:, 2 * H:])\n    c = f * c_prev + i * g",
         "c = f * c_prev + i * g\n    o = sigmoid(a[:, 3 * H:] + c @ Wc[:, 2 * H:])"),
        ("the peephole blocks read in the order f, i, o",
         "i = sigmoid(a[:, :H] + peek[:, :H])\n    f = sigmoid(a[:, H:2 * H] + peek[:, H:2 * H])",
         "i = sigmoid(a[:, :H] + peek[:, H:2 * H])\n    f = sigmoid(a[:, H:2 * H] + peek[:, :H])"),
        ("no peephole on the forget gate", "f = sigmoid(a[:, H:2 * H] + peek[:, H:2 * H])", "f = sigmoid(a[:, H:2 * H])"),
        ("tanh(c) omitted from the output", "return o * tanh_c, c, (", "return o * c, c, ("),
    ],
    "lstm_all_peephole_step_backward": [
        ("the peephole paths into c_prev forgotten", "dc_prev = dc * f + dpeek @ Wc.T", "dc_prev = dc * f"),
        ("dWc from h_prev instead of c_prev", "c_prev.T @ dpeek", "h_prev.T @ dpeek"),
        ("the output gate left out of the peephole gradients", "np.concatenate([da[:, :2 * H], da[:, 3 * H:]], axis=1)",
         "np.concatenate([da[:, :2 * H], 0.0 * da[:, 3 * H:]], axis=1)"),
    ],
    "lstm_coupled_step_forward": [
        ("the candidate let in by f instead of 1 - f", "c = f * c_prev + (1.0 - f) * g", "c = f * c_prev + f * g"),
        ("gates read in the order f, o, g",
         "f, g, o = sigmoid(a[:, :H]), np.tanh(a[:, H:2 * H]), sigmoid(a[:, 2 * H:])",
         "f, o, g = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), np.tanh(a[:, 2 * H:])"),
        ("tanh(c) omitted from the output", "return o * tanh_c, c, (", "return o * c, c, ("),
    ],
    "lstm_coupled_step_backward": [
        ("the forget gate's gradient without the write it closes", "dc * (c_prev - g) * f * (1.0 - f)",
         "dc * c_prev * f * (1.0 - f)"),
        ("the candidate's gradient scaled by f instead of 1 - f", "dc * (1.0 - f) * (1.0 - g ** 2)",
         "dc * f * (1.0 - g ** 2)"),
        ("dc_prev not multiplied by the forget gate", "return da @ Wx.T, da @ Wh.T, dc * f,", "return da @ Wx.T, da @ Wh.T, dc,"),
    ],
    "gru_step_forward": [
        ("reset gate applied before the hidden matmul (the paper's form)", "n = np.tanh(ax[:, 2 * H:] + r * ah[:, 2 * H:])",
         "n = np.tanh(ax[:, 2 * H:] + (r * h_prev) @ Wh[:, 2 * H:] + bh[2 * H:])", "reset_first"),
        ("z and 1 - z swapped", "h = (1.0 - z) * n + z * h_prev", "h = z * n + (1.0 - z) * h_prev", "z_swapped"),
        ("gates read in the order z, r", "r = sigmoid(ax[:, :H] + ah[:, :H])\n    z = sigmoid(ax[:, H:2 * H] + ah[:, H:2 * H])",
         "z = sigmoid(ax[:, :H] + ah[:, :H])\n    r = sigmoid(ax[:, H:2 * H] + ah[:, H:2 * H])"),
        ("the hidden bias kept out of the reset", "r * ah[:, 2 * H:])", "r * (ah[:, 2 * H:] - bh[2 * H:]) + bh[2 * H:])"),
    ],
    "gru_step_backward": [
        ("the update gate's gradient with the wrong sign", "dh * (h_prev - n)", "dh * (n - h_prev)"),
        ("the reset gate's factor missing from the hidden part", "dn_pre * r], axis=1)", "dn_pre], axis=1)"),
        ("the direct path to h_prev missing", "dh_prev = dh * z + dah @ Wh.T", "dh_prev = dah @ Wh.T"),
        ("dbh taken from the input side", "dax.sum(axis=0), dah.sum(axis=0)", "dax.sum(axis=0), dax.sum(axis=0)"),
    ],
    "train_lstm_lm": [
        ("no gradient clipping", "clipped, _ = clip_grad_norm([grads[key] for key in keys], max_norm)",
         "clipped = [grads[key] for key in keys]", "unclipped"),
        ("the state not carried between chunks",
         "_, grads, h, c = lm_loss(params, data[:, start:start + T], data[:, start + 1:start + T + 1], h, c)",
         "_, grads, _, _ = lm_loss(params, data[:, start:start + T], data[:, start + 1:start + T + 1], h, c)"),
        ("the state not reset at the start of an epoch",
         "    for epoch in range(epochs):\n        h, c = np.zeros((B, H)), np.zeros((B, H))\n",
         "    h, c = np.zeros((B, H)), np.zeros((B, H))\n    for epoch in range(epochs):\n"),
        ("targets not shifted: predicts the character it reads", "data[:, start + 1:start + T + 1], h, c)",
         "data[:, start:start + T], h, c)"),
        ("the last, shorter chunk dropped", "for start in range(0, L - 1, seq_len):",
         "for start in range(0, L - seq_len, seq_len):"),
        ("the given params updated in place (a shallow copy, then -=)", TRAIN_LOOP, TRAIN_LOOP_IN_PLACE),
    ],
}

_RNN_ARRAYS = {
    "rnn_forward": '''def rnn_forward(x, h0, Wx, Wh, b):
    """No step function: the input products of all steps at once with einsum, the states in one array."""
    xw = np.einsum("ntd,dh->nth", x, Wx) + b
    h = np.zeros((x.shape[0], x.shape[1] + 1, h0.shape[1]))
    h[:, 0] = h0
    for t in range(x.shape[1]):
        h[:, t + 1] = np.tanh(xw[:, t] + h[:, t] @ Wh)
    return h[:, 1:], {"x": x, "h": h, "Wx": Wx, "Wh": Wh}
''',
    "rnn_backward": '''def rnn_backward(dh, cache):
    x, h, Wx, Wh = cache["x"], cache["h"], cache["Wx"], cache["Wh"]
    da = np.zeros_like(dh)
    carry = np.zeros_like(dh[:, 0])
    for t in range(dh.shape[1] - 1, -1, -1):
        da[:, t] = (dh[:, t] + carry) * (1 - h[:, t + 1] ** 2)
        carry = da[:, t] @ Wh.T
    dWx = np.einsum("ntd,nth->dh", x, da)
    dWh = np.einsum("ntk,nth->kh", h[:, :-1], da)
    return np.einsum("nth,dh->ntd", da, Wx), carry, dWx, dWh, da.sum(axis=(0, 1))
''',
}

_LSTM_PER_GATE = {
    "lstm_step_forward": '''GATES = ("i", "f", "g", "o")

def split_gates(M):
    """The stacked (., 4H) matrix as four per-gate matrices (or vectors)."""
    return dict(zip(GATES, np.split(M, 4, axis=-1)))

def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
    Wxs, Whs, bs = split_gates(Wx), split_gates(Wh), split_gates(b)
    pre = {k: x @ Wxs[k] + h_prev @ Whs[k] + bs[k] for k in GATES}
    gate = {k: (np.tanh(v) if k == "g" else 1 / (1 + np.exp(-v))) for k, v in pre.items()}
    c = gate["f"] * c_prev + gate["i"] * gate["g"]
    h = gate["o"] * np.tanh(c)
    return h, c, {"x": x, "h_prev": h_prev, "c_prev": c_prev, "W": (Wxs, Whs), "gate": gate, "c": c}
''',
    "lstm_step_backward": '''def lstm_step_backward(dh, dc, cache):
    gate, c, (Wxs, Whs) = cache["gate"], cache["c"], cache["W"]
    dc_total = dc + dh * gate["o"] * (1 - np.tanh(c) ** 2)
    dpre = {"i": dc_total * gate["g"] * gate["i"] * (1 - gate["i"]),
            "f": dc_total * cache["c_prev"] * gate["f"] * (1 - gate["f"]),
            "g": dc_total * gate["i"] * (1 - gate["g"] ** 2),
            "o": dh * np.tanh(c) * gate["o"] * (1 - gate["o"])}
    dx = sum(dpre[k] @ Wxs[k].T for k in GATES)
    dh_prev = sum(dpre[k] @ Whs[k].T for k in GATES)
    dWx = np.concatenate([cache["x"].T @ dpre[k] for k in GATES], axis=1)
    dWh = np.concatenate([cache["h_prev"].T @ dpre[k] for k in GATES], axis=1)
    db = np.concatenate([dpre[k].sum(axis=0) for k in GATES])
    return dx, dh_prev, dc_total * gate["f"], dWx, dWh, db
''',
}

_LSTM_LOOP_OF_STEPS = {
    "lstm_forward": '''def lstm_forward(x, h0, c0, Wx, Wh, b):
    """A loop of the step function, in float32."""
    h_t, c_t = h0.astype(np.float32), c0.astype(np.float32)
    Wx, Wh, b = Wx.astype(np.float32), Wh.astype(np.float32), b.astype(np.float32)
    hs, cs, caches = [], [], []
    for t in range(x.shape[1]):
        h_t, c_t, step = lstm_step_forward(x[:, t].astype(np.float32), h_t, c_t, Wx, Wh, b)
        hs.append(h_t)
        cs.append(c_t)
        caches.append(step)
    return np.stack(hs, axis=1), np.stack(cs, axis=1), caches
''',
    "lstm_backward": '''def lstm_backward(dh, cache):
    dh = dh.astype(np.float32)
    dh_next = np.zeros_like(dh[:, 0])
    dc_next = np.zeros_like(dh[:, 0])
    dxs, total = [], None
    for t in reversed(range(len(cache))):
        dx, dh_next, dc_next, *dweights = lstm_step_backward(dh[:, t] + dh_next, dc_next, cache[t])
        dxs.append(dx)
        total = dweights if total is None else [a + g for a, g in zip(total, dweights)]
    return (np.stack(dxs[::-1], axis=1), dh_next, dc_next, *total)
''',
}

ALTERNATIVES = {
    "rnn_step_forward": [
        ("float32 arithmetic", '''def rnn_step_forward(x, h_prev, Wx, Wh, b):
    f32 = lambda a: np.asarray(a, dtype=np.float32)
    h = np.tanh(f32(x) @ f32(Wx) + f32(h_prev) @ f32(Wh) + f32(b))
    return h, (x, h_prev, Wx, Wh, h)
'''),
    ],
    "rnn_step_backward": [
        ("einsum for the weight gradients", '''def rnn_step_backward(dh, cache):
    x, h_prev, Wx, Wh, h = cache
    da = dh * (1 - h * h)
    return (np.einsum("nh,dh->nd", da, Wx), np.einsum("nh,kh->nk", da, Wh), np.einsum("nd,nh->dh", x, da),
            np.einsum("nk,nh->kh", h_prev, da), np.einsum("nh->h", da))
'''),
    ],
    "rnn_forward": [("einsum over the whole sequence, no step function (with its backward)", _RNN_ARRAYS)],
    "rnn_backward": [("einsum over the whole sequence, no step function (with its forward)", _RNN_ARRAYS)],
    "clip_grad_norm": [
        ("one flat vector, np.linalg.norm and min(1, factor)", '''def clip_grad_norm(grads, max_norm):
    total_norm = np.linalg.norm(np.concatenate([np.ravel(g) for g in grads]))
    scale = min(1.0, max_norm / (total_norm + 1e-6))
    return [scale * g for g in grads], float(total_norm)
'''),
        ("float32 arithmetic", '''def clip_grad_norm(grads, max_norm):
    grads32 = [np.asarray(g, dtype=np.float32) for g in grads]
    total_norm = np.sqrt(sum(np.sum(g * g) for g in grads32))
    factor = np.float32(max_norm) / (total_norm + np.float32(1e-6))
    if factor < 1:
        return [g * factor for g in grads32], total_norm
    return [g.copy() for g in grads32], total_norm
'''),
    ],
    "lstm_step_forward": [("separate per-gate matrices split from the stacked ones (with its backward)", _LSTM_PER_GATE)],
    "lstm_step_backward": [("separate per-gate matrices split from the stacked ones (with its forward)", _LSTM_PER_GATE)],
    "lstm_forward": [("a loop over time of the step functions, float32 (with its backward)", _LSTM_LOOP_OF_STEPS)],
    "lstm_backward": [("a loop over time of the step functions, float32 (with its forward)", _LSTM_LOOP_OF_STEPS)],
    "lstm_peephole_step_forward": [
        ("the output gate's two products as one over [a_o, c]", '''def lstm_peephole_step_forward(x, h_prev, c_prev, Wx, Wh, Wc, b):
    H = Wh.shape[0]
    pre = np.hstack([x, h_prev]) @ np.vstack([Wx, Wh]) + b
    i = 1 / (1 + np.exp(-pre[:, :H]))
    f = 1 / (1 + np.exp(-pre[:, H:2 * H]))
    g = np.tanh(pre[:, 2 * H:3 * H])
    c = f * c_prev + i * g
    o = 1 / (1 + np.exp(-(np.hstack([pre[:, 3 * H:], c]) @ np.vstack([np.eye(H), Wc]))))
    return o * np.tanh(c), c, (x, h_prev, c_prev, Wx, Wh, Wc, i, f, g, o, c, np.tanh(c))
'''),
    ],
    "lstm_peephole_step_backward": [
        ("einsum, one gradient at a time", '''def lstm_peephole_step_backward(dh, dc, cache):
    x, h_prev, c_prev, Wx, Wh, Wc, i, f, g, o, c, t = cache
    d_o = np.einsum("nh,nh->nh", dh * t, o * (1 - o))
    d_c = dc + dh * o * (1 - t * t) + np.einsum("nk,hk->nh", d_o, Wc)
    d_a = np.concatenate([d_c * g * i * (1 - i), d_c * c_prev * f * (1 - f), d_c * i * (1 - g * g), d_o], axis=1)
    return (np.einsum("nk,dk->nd", d_a, Wx), np.einsum("nk,hk->nh", d_a, Wh), d_c * f,
            np.einsum("nd,nk->dk", x, d_a), np.einsum("nh,nk->hk", h_prev, d_a), np.einsum("nh,nk->hk", c, d_o),
            d_a.sum(axis=0))
'''),
    ],
    "lstm_all_peephole_step_forward": [
        ("the slide's concatenation [c_prev, h_prev, x] times one stacked matrix", '''def lstm_all_peephole_step_forward(x, h_prev, c_prev, Wx, Wh, Wc, b):
    H = Wh.shape[0]
    W = np.vstack([np.hstack([Wc[:, :2 * H], np.zeros((H, H)), Wc[:, 2 * H:]]), Wh, Wx])
    a = np.hstack([c_prev, h_prev, x]) @ W + b
    i, f, o = (1 / (1 + np.exp(-a[:, k * H:(k + 1) * H])) for k in (0, 1, 3))
    g = np.tanh(a[:, 2 * H:3 * H])
    c = f * c_prev + i * g
    return o * np.tanh(c), c, (x, h_prev, c_prev, Wx, Wh, Wc, i, f, g, o, np.tanh(c))
'''),
    ],
    "lstm_all_peephole_step_backward": [
        ("einsum, the peepholes' gradients gate by gate", '''def lstm_all_peephole_step_backward(dh, dc, cache):
    x, h_prev, c_prev, Wx, Wh, Wc, i, f, g, o, t = cache
    H = h_prev.shape[1]
    d_c = dc + dh * o * (1 - t * t)
    d_i, d_f, d_g, d_o = d_c * g * i * (1 - i), d_c * c_prev * f * (1 - f), d_c * i * (1 - g * g), dh * t * o * (1 - o)
    d_a = np.concatenate([d_i, d_f, d_g, d_o], axis=1)
    d_c_prev = d_c * f
    for k, d_gate in enumerate((d_i, d_f, d_o)):
        d_c_prev = d_c_prev + np.einsum("nk,hk->nh", d_gate, Wc[:, k * H:(k + 1) * H])
    dWc = np.hstack([np.einsum("nh,nk->hk", c_prev, d_gate) for d_gate in (d_i, d_f, d_o)])
    return (np.einsum("nk,dk->nd", d_a, Wx), np.einsum("nk,hk->nh", d_a, Wh), d_c_prev,
            np.einsum("nd,nk->dk", x, d_a), np.einsum("nh,nk->hk", h_prev, d_a), dWc, d_a.sum(axis=0))
'''),
    ],
    "lstm_coupled_step_forward": [
        ("the input gate written out as i = 1 - f, per-gate matrices, float32", '''def lstm_coupled_step_forward(x, h_prev, c_prev, Wx, Wh, b):
    H = Wh.shape[0]
    x32, h32, c32 = (v.astype(np.float32) for v in (x, h_prev, c_prev))
    (Wxf, Wxg, Wxo), (Whf, Whg, Who) = np.split(Wx.astype(np.float32), 3, axis=1), np.split(Wh.astype(np.float32), 3, axis=1)
    bf, bg, bo = np.split(b.astype(np.float32), 3)
    f = 1 / (1 + np.exp(-(x32 @ Wxf + h32 @ Whf + bf)))
    i = 1 - f
    g = np.tanh(x32 @ Wxg + h32 @ Whg + bg)
    o = 1 / (1 + np.exp(-(x32 @ Wxo + h32 @ Who + bo)))
    c = f * c32 + i * g
    return o * np.tanh(c), c, (x, h_prev, c_prev, Wx, Wh, f, g, o, np.tanh(c))
'''),
    ],
    "lstm_coupled_step_backward": [
        ("per-gate gradients, then stacked", '''def lstm_coupled_step_backward(dh, dc, cache):
    x, h_prev, c_prev, Wx, Wh, f, g, o, t = cache
    d_c = dc + dh * o * (1 - t ** 2)
    d_f = d_c * c_prev * f * (1 - f) - d_c * g * f * (1 - f)
    d_g = d_c * (1 - f) * (1 - g ** 2)
    d_o = dh * t * o * (1 - o)
    d_a = np.hstack([d_f, d_g, d_o])
    return d_a @ Wx.T, d_a @ Wh.T, d_c * f, x.T @ d_a, h_prev.T @ d_a, d_a.sum(axis=0)
'''),
    ],
    "gru_step_forward": [
        ("per-gate matrices split from the stacked ones, float32", '''def gru_step_forward(x, h_prev, Wx, Wh, bx, bh):
    x32, h32 = x.astype(np.float32), h_prev.astype(np.float32)
    (Wxr, Wxz, Wxn), (Whr, Whz, Whn) = np.split(Wx.astype(np.float32), 3, axis=1), np.split(Wh.astype(np.float32), 3, axis=1)
    (bxr, bxz, bxn), (bhr, bhz, bhn) = np.split(bx.astype(np.float32), 3), np.split(bh.astype(np.float32), 3)
    r = 1 / (1 + np.exp(-(x32 @ Wxr + bxr + h32 @ Whr + bhr)))
    z = 1 / (1 + np.exp(-(x32 @ Wxz + bxz + h32 @ Whz + bhz)))
    hn = h32 @ Whn + bhn
    n = np.tanh(x32 @ Wxn + bxn + r * hn)
    return (1 - z) * n + z * h32, (x, h_prev, Wx, Wh, r, z, n, hn)
'''),
    ],
    "gru_step_backward": [
        ("per-gate gradients, then stacked", '''def gru_step_backward(dh, cache):
    x, h_prev, Wx, Wh, r, z, n, hn = cache
    H = h_prev.shape[1]
    dn = dh * (1 - z) * (1 - n ** 2)
    dz = dh * (h_prev - n) * z * (1 - z)
    dr = dn * hn * r * (1 - r)
    dhn = dn * r
    dx = dr @ Wx[:, :H].T + dz @ Wx[:, H:2 * H].T + dn @ Wx[:, 2 * H:].T
    dh_prev = dh * z + dr @ Wh[:, :H].T + dz @ Wh[:, H:2 * H].T + dhn @ Wh[:, 2 * H:].T
    dWx = np.hstack([x.T @ dr, x.T @ dz, x.T @ dn])
    dWh = np.hstack([h_prev.T @ dr, h_prev.T @ dz, h_prev.T @ dhn])
    return dx, dh_prev, dWx, dWh, np.hstack([dr.sum(0), dz.sum(0), dn.sum(0)]), np.hstack([dr.sum(0), dz.sum(0), dhn.sum(0)])
'''),
    ],
    "train_lstm_lm": [
        ("chunks listed first, clipping written out, the loss in a helper of its own", '''def chunk_grads(params, x_ids, y_ids, h0, c0):
    B, T = x_ids.shape
    V = params["by"].shape[0]
    onehot = np.zeros((B, T, V))
    np.put_along_axis(onehot, x_ids[:, :, None], 1.0, axis=2)
    hs, cs, cache = lstm_forward(onehot, h0, c0, params["Wx"], params["Wh"], params["b"])
    scores = hs @ params["Wy"] + params["by"]
    scores -= scores.max(axis=2, keepdims=True)
    probs = np.exp(scores)
    probs /= probs.sum(axis=2, keepdims=True)
    dscores = probs.copy()
    np.put_along_axis(dscores, y_ids[:, :, None], np.take_along_axis(probs, y_ids[:, :, None], axis=2) - 1.0, axis=2)
    dscores /= B * T
    g = {"Wy": np.einsum("bth,btv->hv", hs, dscores), "by": dscores.sum(axis=(0, 1))}
    _, _, _, g["Wx"], g["Wh"], g["b"] = lstm_backward(dscores @ params["Wy"].T, cache)
    return g, hs[:, -1], cs[:, -1]

def train_lstm_lm(data, params, epochs, seq_len, learning_rate, max_norm):
    p = {k: np.array(v, dtype=float) for k, v in params.items()}
    L = data.shape[1]
    chunks = [(s, min(seq_len, L - 1 - s)) for s in range(0, L - 1, seq_len)]
    for _ in range(epochs):
        h = np.zeros((data.shape[0], p["Wh"].shape[0]))
        c = np.zeros_like(h)
        for s, T in chunks:
            g, h, c = chunk_grads(p, data[:, s:s + T], data[:, s + 1:s + T + 1], h, c)
            norm = np.sqrt(sum((v ** 2).sum() for v in g.values()))
            scale = min(1.0, max_norm / (norm + 1e-6))
            for k in p:
                p[k] -= learning_rate * scale * g[k]
    return p
'''),
    ],
}
