"""Problem set 4's samples: planted bugs and correct alternatives (full solutions: not installed for students).

As in problem set 3: a mutant must cost its own function and nothing beyond the functions that use it by
design; an alternative must keep full marks; a dict alternative replaces a forward and its backward together.
A too-slow convolution is not a mutant here: only a grading run's calibrated budget catches it
(tests/test_speed.py).
"""

from autograder.problemsets._shared.samples import updated_in_place

PAD = "np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))"
PAD_ONE_SIDE = "np.pad(x, ((0, 0), (0, 0), (padding, 0), (padding, 0)))"

TRAIN_LOOP, TRAIN_LOOP_IN_PLACE = updated_in_place("convnet_loss")
AVG_LOOP = """for u in range(kernel):
        for v in range(kernel):
            dx[:, :, u:u + stride * ho:stride, v:v + stride * wo:stride] += dout / kernel ** 2"""

MUTANTS = {
    "conv_output_size": [
        ("ceiling instead of floor", "return (size + 2 * padding - kernel) // stride + 1",
         "return -(-(size + 2 * padding - kernel) // stride) + 1"),
        ("padding counted once", "size + 2 * padding", "size + padding"),
        ("rounded to the nearest instead of floor", "return (size + 2 * padding - kernel) // stride + 1",
         "return int(round((size + 2 * padding - kernel) / stride)) + 1"),
        ("the + 1 forgotten", "// stride + 1", "// stride"),
        ("stride ignored", "// stride + 1", "+ 1"),
        ("a float, not an int", "return (size + 2 * padding - kernel) // stride + 1",
         "return np.floor((size + 2 * padding - kernel) / stride) + 1"),
    ],
    "conv_forward_naive": [
        ("kernel flipped (true convolution)", "np.sum(window * W[filt])", "np.sum(window * W[filt, :, ::-1, ::-1])",
         "flipped"),
        ("bias forgotten", "np.sum(window * W[filt]) + b[filt]", "np.sum(window * W[filt])"),
        ("stride ignored in the window's position", "i * stride:i * stride + kh, j * stride:j * stride + kw",
         "i:i + kh, j:j + kw"),
        ("padding on one side only", PAD, PAD_ONE_SIDE),
    ],
    "conv_forward": [
        ("kernel flipped (true convolution)", "out = W.reshape(f, -1) @ cols",
         "out = W[:, :, ::-1, ::-1].reshape(f, -1) @ cols", "flipped"),
        ("padding on one side only", PAD, PAD_ONE_SIDE, "padded_one_side"),
        ("stride ignored", "cols[:, u, v] = padded[:, :, u:u + stride * ho:stride, v:v + stride * wo:stride]",
         "cols[:, u, v] = padded[:, :, u:u + ho, v:v + wo]"),
        ("kernel rows and columns swapped when flattening", "out = W.reshape(f, -1) @ cols",
         "out = W.transpose(0, 1, 3, 2).reshape(f, -1) @ cols"),
    ],
    "conv_backward": [
        ("db not summed over the positions", "db = grad.sum(axis=1)", "db = dout.sum(axis=0)", "db_not_summed"),
        ("stride ignored in backward", "dpadded[:, :, u:u + stride * ho:stride, v:v + stride * wo:stride] += dcols",
         "dpadded[:, :, u:u + ho, v:v + wo] += dcols"),
        ("padding not cut off dx", "dx = dpadded[:, :, padding:padding + h, padding:padding + w].transpose(1, 0, 2, 3)",
         "dx = dpadded.transpose(1, 0, 2, 3)"),
        ("overlapping windows not added up", "+= dcols[:, u, v]", "= dcols[:, u, v]"),
        ("dW from cols times grad, transposed", "dW = (grad @ cols.T).reshape(W.shape)",
         "dW = (cols @ grad.T).reshape(W.shape)"),
    ],
    "conv_dilated_forward": [
        ("dilation ignored in the taps", "r, q = dilation * u, dilation * v", "r, q = u, v"),
        ("output size of an undilated kernel", "ho = (h + 2 * padding - dilation * (kh - 1) - 1) // stride + 1",
         "ho = (h + 2 * padding - kh) // stride + 1"),
        ("stride ignored", "padded[:, :, r:r + stride * ho:stride, q:q + stride * wo:stride]",
         "padded[:, :, r:r + ho, q:q + wo]"),
        ("kernel flipped (true convolution)", "out = W.reshape(f, -1) @ cols",
         "out = W[:, :, ::-1, ::-1].reshape(f, -1) @ cols", "flipped"),
        ("bias forgotten", "cols.reshape(c * kh * kw, -1) + b[:, None]", "cols.reshape(c * kh * kw, -1)"),
        ("padding on one side only", PAD, PAD_ONE_SIDE),
        ("the dilation moving the windows, the taps adjacent", "f, _, kh, kw = W.shape",
         "f, _, kh, kw = W.shape\n    stride, dilation = stride * dilation, 1", "dilation_as_stride"),
    ],
    "max_pool_forward": [
        ("mean instead of max", "out = np.take_along_axis(flat, first_max[..., None], axis=-1)[..., 0]",
         "out = flat.mean(axis=-1)"),
        ("stride ignored", "axis=(2, 3))[:, :, ::stride, ::stride]", "axis=(2, 3))"),
        ("ceil mode: a partial window kept where the stride does not divide",
         "windows = np.lib.stride_tricks.sliding_window_view(x, (kernel, kernel)",
         "windows = np.lib.stride_tricks.sliding_window_view(np.pad(x, ((0, 0), (0, 0), (0, stride - 1), "
         "(0, stride - 1)), constant_values=-np.inf), (kernel, kernel)"),
        ("min instead of max", "first_max = np.argmax(flat, axis=-1)", "first_max = np.argmin(flat, axis=-1)"),
        ("windows by as_strided with strides computed for a contiguous input",
         "np.lib.stride_tricks.sliding_window_view(x, (kernel, kernel), axis=(2, 3))",
         "np.lib.stride_tricks.as_strided(x, x.shape[:2] + (x.shape[2] - kernel + 1, x.shape[3] - kernel + 1, kernel, "
         "kernel), tuple(x.itemsize * s for s in (x[0].size, x[0, 0].size, x.shape[3], 1, x.shape[3], 1)))"),
        ("the running maximum started at 0, not at the window's first value",
         "out = np.take_along_axis(flat, first_max[..., None], axis=-1)[..., 0]",
         "out = np.maximum(flat.max(axis=-1), 0.0)"),
    ],
    "max_pool_backward": [
        ("gradient sent to every tied maximum",
         "    np.add.at(dx, (batch[:, :, None, None], channel[:, :, None, None], rows, cols), dout)\n",
         "    windows = np.lib.stride_tricks.sliding_window_view(x, (kernel, kernel), axis=(2, 3))[:, :, ::stride, ::stride]\n"
         "    top = windows.max(axis=(4, 5), keepdims=True)\n"
         "    for u in range(kernel):\n"
         "        for v in range(kernel):\n"
         "            hit = windows[..., u, v] == top[..., 0, 0]\n"
         "            dx[:, :, u:u + stride * ho:stride, v:v + stride * wo:stride] += np.where(hit, dout, 0.0)\n",
         "every_tie"),
        ("stride ignored",
         "rows = np.arange(ho)[:, None] * stride + first_max // kernel      # (N, C, H', W') by broadcasting\n"
         "    cols = np.arange(wo)[None, :] * stride + first_max % kernel",
         "rows = np.arange(ho)[:, None] + first_max // kernel\n    cols = np.arange(wo)[None, :] + first_max % kernel"),
        ("overlapping windows not added up",
         "np.add.at(dx, (batch[:, :, None, None], channel[:, :, None, None], rows, cols), dout)",
         "dx[batch[:, :, None, None], channel[:, :, None, None], rows, cols] = dout"),
        ("row and column of the maximum swapped", "first_max // kernel      #", "first_max % kernel      #"),
    ],
    "avg_pool_forward": [
        ("sum instead of mean", "windows.mean(axis=(4, 5))", "windows.sum(axis=(4, 5))"),
        ("stride ignored", "axis=(2, 3))[:, :, ::stride, ::stride]", "axis=(2, 3))"),
        ("ceil mode: a partial window kept (zero-padded) where the stride does not divide",
         "windows = np.lib.stride_tricks.sliding_window_view(x, (kernel, kernel)",
         "windows = np.lib.stride_tricks.sliding_window_view(np.pad(x, ((0, 0), (0, 0), (0, stride - 1), "
         "(0, stride - 1))), (kernel, kernel)"),
        ("max instead of mean", "windows.mean(axis=(4, 5))", "windows.max(axis=(4, 5))"),
    ],
    "avg_pool_backward": [
        ("not divided by the window size", "+= dout / kernel ** 2", "+= dout"),
        ("divided by the kernel's width only", "+= dout / kernel ** 2", "+= dout / kernel"),
        ("stride ignored", "u:u + stride * ho:stride, v:v + stride * wo:stride", "u:u + ho, v:v + wo"),
        ("overlapping windows not added up", "+= dout / kernel ** 2", "= dout / kernel ** 2"),
        ("the caller's dout divided in place", AVG_LOOP, "dout /= kernel ** 2\n    " + AVG_LOOP.replace(
            "+= dout / kernel ** 2", "+= dout")),
    ],
    "conv1d_forward": [
        ("kernel flipped (true convolution)", 'np.einsum("nelk,fek->nfl", windows, W)',
         'np.einsum("nelk,fek->nfl", windows, W[:, :, ::-1])', "flipped"),
        ("bias forgotten", " + b[None, :, None]", ""),
        ("'same' padding instead of none", "sliding_window_view(x, W.shape[2], axis=2)",
         "sliding_window_view(np.pad(x, ((0, 0), (0, 0), (W.shape[2] // 2, (W.shape[2] - 1) // 2))), W.shape[2], axis=2)"),
    ],
    "kmax_pool": [
        ("sorted by value instead of kept in order", "np.take_along_axis(x, np.sort(top, axis=-1), axis=-1)",
         "np.take_along_axis(x, top, axis=-1)", "sorted_by_value"),
        ("the k smallest", "np.argsort(-x, axis=-1", "np.argsort(x, axis=-1"),
        ("positions instead of values", "return np.take_along_axis(x, np.sort(top, axis=-1), axis=-1)",
         "return np.sort(top, axis=-1)"),
        ("sorted ascending", "return np.take_along_axis(x, np.sort(top, axis=-1), axis=-1)",
         "return np.sort(np.take_along_axis(x, top, axis=-1), axis=-1)"),
        ("every value equal to the k-th largest kept (too many when it ties)",
         "return np.take_along_axis(x, np.sort(top, axis=-1), axis=-1)",
         "kth = np.take_along_axis(x, top[..., -1:], axis=-1)\n    return x[x >= kth].reshape(*x.shape[:-1], -1)"),
    ],
    "train_convnet": [
        ("minibatch gradient summed instead of averaged", "_, grads = convnet_loss(params, X[batch], y[batch])",
         "_, grads = convnet_loss(params, X[batch], y[batch])\n            grads = {k: g * len(batch) for k, g in grads.items()}",
         "summed"),
        ("biases never updated", "for key in params:", 'for key in [k for k in params if k.startswith("W")]:'),
        ("never shuffled", "order = rng.permutation(n)", "order = np.arange(n)"),
        ("the uneven last minibatch dropped", "for start in range(0, n, batch_size):",
         "for start in range(0, n - batch_size + 1, batch_size):"),
        ("flattened channels-last", "affine_forward(h.reshape(n, -1),", "affine_forward(h.transpose(0, 2, 3, 1).reshape(n, -1),"),
        ("the given params updated in place (a shallow copy, then -=)", TRAIN_LOOP, TRAIN_LOOP_IN_PLACE),
    ],
}

_MAX_POOL_LOOPS = {
    "max_pool_forward": '''def max_pool_forward(x, kernel, stride):
    n, c, h, w = x.shape
    ho, wo = (h - kernel) // stride + 1, (w - kernel) // stride + 1
    out = np.empty((n, c, ho, wo))
    where = {}
    for i in range(ho):
        for j in range(wo):
            block = x[:, :, i * stride:i * stride + kernel, j * stride:j * stride + kernel].reshape(n, c, -1)
            k = block.argmax(axis=2)
            out[:, :, i, j] = block.max(axis=2)
            where[i, j] = k
    return out, {"shape": x.shape, "where": where, "k": kernel, "s": stride}
''',
    "max_pool_backward": '''def max_pool_backward(dout, cache):
    dx = np.zeros(cache["shape"])
    k, s = cache["k"], cache["s"]
    n, c = dout.shape[:2]
    for (i, j), first in cache["where"].items():
        for a in range(n):
            for b in range(c):
                u, v = divmod(int(first[a, b]), k)
                dx[a, b, i * s + u, j * s + v] += dout[a, b, i, j]
    return dx
''',
}

ALTERNATIVES = {
    "conv_output_size": [
        ("with math.floor", '''import math

def conv_output_size(size, kernel, stride=1, padding=0):
    return int(math.floor((size + 2 * padding - kernel) / stride)) + 1
'''),
        ("a NumPy integer", '''def conv_output_size(size, kernel, stride=1, padding=0):
    return np.int64(np.floor_divide(size + 2 * padding - kernel, stride) + 1)
'''),
    ],
    "conv_forward_naive": [
        ("every multiply-add as its own loop step, float32 arithmetic", '''def conv_forward_naive(x, W, b, stride=1, padding=0):
    x32, W32 = x.astype(np.float32), W.astype(np.float32)
    N, C, H, Wd = x.shape
    F, _, KH, KW = W.shape
    Ho = (H + 2 * padding - KH) // stride + 1
    Wo = (Wd + 2 * padding - KW) // stride + 1
    out = np.zeros((N, F, Ho, Wo), dtype=np.float32)
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    acc = np.float32(b[f])
                    for c in range(C):
                        for u in range(KH):
                            for v in range(KW):
                                r, q = i * stride + u - padding, j * stride + v - padding
                                if 0 <= r < H and 0 <= q < Wd:
                                    acc += x32[n, c, r, q] * W32[f, c, u, v]
                    out[n, f, i, j] = acc
    return out, None
'''),
    ],
    "conv_forward": [
        ("sliding_window_view and np.einsum", '''def conv_forward(x, W, b, stride=1, padding=0):
    xp = np.pad(x, [(0, 0), (0, 0), (padding, padding), (padding, padding)])
    win = np.lib.stride_tricks.sliding_window_view(xp, W.shape[2:], axis=(2, 3))[:, :, ::stride, ::stride]
    out = np.einsum("nchwuv,fcuv->nfhw", win, W) + b[:, None, None]
    return out, (x.shape, W, win.transpose(1, 4, 5, 0, 2, 3).reshape(W[0].size, -1), stride, padding)
'''),
        ("explicit im2col, one slice per kernel offset", '''def im2col(xp, kh, kw, stride, ho, wo):
    n, c = xp.shape[:2]
    cols = np.empty((n, c, kh, kw, ho, wo))
    for u in range(kh):
        for v in range(kw):
            cols[:, :, u, v] = xp[:, :, u:u + stride * ho:stride, v:v + stride * wo:stride]
    return cols.transpose(0, 4, 5, 1, 2, 3).reshape(n * ho * wo, c * kh * kw)

def conv_forward(x, W, b, stride=1, padding=0):
    n, c, h, w = x.shape
    f, _, kh, kw = W.shape
    ho, wo = (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    cols = im2col(xp, kh, kw, stride, ho, wo)
    out = (cols @ W.reshape(f, -1).T + b).reshape(n, ho, wo, f).transpose(0, 3, 1, 2)
    return out, (x.shape, W, cols.T, stride, padding)   # the backward wants one window per column
'''),
    ],
    "conv_backward": [
        ("einsum for dW, a loop over output positions for dx", '''def conv_backward(dout, cache):
    (n, c, h, w), W, cols, stride, padding = cache
    f, _, kh, kw = W.shape
    ho, wo = dout.shape[2:]
    windows = cols.reshape(c, kh, kw, n, ho, wo)
    dW = np.einsum("nfij,cuvnij->fcuv", dout, windows)
    db = np.einsum("nfij->f", dout)
    dxp = np.zeros((n, c, h + 2 * padding, w + 2 * padding))
    for i in range(ho):
        for j in range(wo):
            dxp[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw] += np.einsum("nf,fcuv->ncuv", dout[:, :, i, j], W)
    return dxp[:, :, padding:padding + h, padding:padding + w], dW, db
'''),
    ],
    "max_pool_forward": [("loops over the output positions (with its backward)", _MAX_POOL_LOOPS)],
    "max_pool_backward": [("loops over the output positions (with its forward)", _MAX_POOL_LOOPS)],
    "avg_pool_forward": [
        ("loops over the output positions", '''def avg_pool_forward(x, kernel, stride):
    n, c, h, w = x.shape
    ho, wo = (h - kernel) // stride + 1, (w - kernel) // stride + 1
    out = np.zeros((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            out[:, :, i, j] = x[:, :, i * stride:i * stride + kernel, j * stride:j * stride + kernel].mean(axis=(2, 3))
    return out, (x.shape, kernel, stride)
'''),
    ],
    "avg_pool_backward": [
        ("loops over the output positions", '''def avg_pool_backward(dout, cache):
    shape, k, s = cache
    dx = np.zeros(shape)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            dx[:, :, i * s:i * s + k, j * s:j * s + k] += dout[:, :, i:i + 1, j:j + 1] / (k * k)
    return dx
'''),
    ],
    "conv_dilated_forward": [
        ("the zero-inserted kernel, a loop over the output positions", '''def conv_dilated_forward(x, W, b, stride=1, padding=0, dilation=1):
    F_, C, KH, KW = W.shape
    big = np.zeros((F_, C, dilation * (KH - 1) + 1, dilation * (KW - 1) + 1))
    big[:, :, ::dilation, ::dilation] = W
    N, _, H, Wd = x.shape
    kh, kw = big.shape[2:]
    Ho, Wo = (H + 2 * padding - kh) // stride + 1, (Wd + 2 * padding - kw) // stride + 1
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    out = np.zeros((N, F_, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            window = xp[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            out[:, :, i, j] = np.einsum("nchw,fchw->nf", window, big) + b
    return out, None
'''),
    ],
    "conv1d_forward": [
        ("a loop over the filter's width, float32 arithmetic", '''def conv1d_forward(x, W, b):
    x32, W32 = x.astype(np.float32), W.astype(np.float32)
    k = W.shape[2]
    length = x.shape[2] - k + 1
    out = np.zeros((x.shape[0], W.shape[0], length), dtype=np.float32)
    for t in range(k):
        out += np.einsum("nel,fe->nfl", x32[:, :, t:t + length], W32[:, :, t])
    return out + b.astype(np.float32)[None, :, None], None
'''),
    ],
    "kmax_pool": [
        ("argpartition, then the positions sorted", '''def kmax_pool(x, k):
    L = x.shape[-1]
    part = np.argpartition(x, L - k, axis=-1)[..., L - k:]
    return np.take_along_axis(x, np.sort(part, axis=-1), axis=-1)
'''),
    ],
    "train_convnet": [
        ("week 2's sgd_momentum(w, dw, config), the loss written out", '''def sgd_momentum(w, dw, config):
    v = config["momentum"] * config.get("velocity", np.zeros_like(w)) + dw
    config["velocity"] = v
    return w - config["learning_rate"] * v, config

def convnet_loss(params, X, y):
    conv, c1 = conv_forward(X, params["W1"], params["b1"], stride=1, padding=1)
    act = np.maximum(conv, 0.0)
    pooled, c2 = max_pool_forward(act, 2, 2)
    flat = pooled.reshape(len(X), -1)
    loss, dscores = softmax_loss(flat @ params["W2"] + params["b2"], y)
    grads = {"W2": flat.T @ dscores, "b2": dscores.sum(axis=0)}
    dpooled = (dscores @ params["W2"].T).reshape(pooled.shape)
    dconv = max_pool_backward(dpooled, c2) * (conv > 0)
    _, grads["W1"], grads["b1"] = conv_backward(dconv, c1)
    return loss, grads

def train_convnet(X, y, params, epochs, batch_size, learning_rate, momentum, seed):
    rng = np.random.default_rng(seed)
    params = dict(params)
    configs = {k: {"learning_rate": learning_rate, "momentum": momentum} for k in params}
    for _ in range(epochs):
        order = rng.permutation(len(y))
        for start in range(0, len(y), batch_size):
            idx = order[start:start + batch_size]
            _, grads = convnet_loss(params, X[idx], y[idx])
            for k in params:
                params[k], configs[k] = sgd_momentum(params[k], grads[k], configs[k])
    return params
'''),
    ],
}
