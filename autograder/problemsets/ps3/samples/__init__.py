"""Problem set 3's samples: planted bugs and correct alternatives (full solutions: not installed for students).

A *mutant* is (description, text in the master's solution, replacement[, misconception]): it must lose that
function's points, and nothing beyond the functions that use it by design (a backward pass is graded with its own
forward's cache; mlp_loss may use the layers; train_mlp uses mlp_loss). An *alternative* is a different but correct
implementation: it must keep full marks. Where an alternative changes a cache layout, it replaces the forward
and the backward together (a dict {cell: source}). A mutant's fourth element names the known mistake (one of
the function's misconceptions) whose hint it must get; a mutant without one must get no hint.
"""

from autograder.problemsets._shared.samples import updated_in_place

TRAIN_LOOP, TRAIN_LOOP_IN_PLACE = updated_in_place("mlp_loss")

MUTANTS = {
    "affine_forward": [
        ("bias not added", "out = x @ W + b", "out = x @ W"),
        ("bias subtracted", "out = x @ W + b", "out = x @ W - b"),
        ("bias added to the inputs' sum instead of each output", "out = x @ W + b", "out = x @ W + b.sum()"),
    ],
    "affine_backward": [
        ("db not summed over the batch", "db = dout.sum(axis=0)", "db = dout", "db_not_summed"),
        ("db averaged over the batch", "db = dout.sum(axis=0)", "db = dout.mean(axis=0)"),
        ("dW divided by the batch size", "dW = x.T @ dout", "dW = x.T @ dout / x.shape[0]"),
        ("dx as W dout^T (transposed)", "dx = dout @ W.T", "dx = W @ dout.T"),
    ],
    "relu_forward": [
        ("leaky slope 0.01", "out = np.maximum(x, 0.0)", "out = np.maximum(x, 0.01 * x)"),
        ("absolute value", "out = np.maximum(x, 0.0)", "out = np.abs(x)"),
        ("clipped at 1 as well", "out = np.maximum(x, 0.0)", "out = np.clip(x, 0.0, 1.0)"),
        ("the caller's x zeroed in place", "out = np.maximum(x, 0.0)\n    return out, x",
         "out = np.maximum(x, 0.0, out=x)\n    return out, out > 0"),
    ],
    "relu_backward": [
        ("slope 1 at x = 0", "dx = dout * (x > 0)", "dx = dout * (x >= 0)", "slope_one_at_zero"),
        ("mask not applied", "dx = dout * (x > 0)", "dx = dout.copy()"),
        ("multiplied by relu(x) instead of its derivative", "dx = dout * (x > 0)", "dx = dout * np.maximum(x, 0.0)"),
        ("the caller's dout masked in place", "dx = dout * (x > 0)", "dx = dout\n    dx[x <= 0] = 0.0"),
    ],
    "sigmoid_forward": [
        ("sign flipped: 1 / (1 + exp(x))", "out = np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))",
         "out = np.where(x >= 0, z / (1.0 + z), 1.0 / (1.0 + z))"),
        ("tanh instead of the sigmoid", "out = np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))", "out = np.tanh(x)"),
        ("naive exp(x) / (1 + exp(x)): NaN for large x", "out = np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))",
         "out = np.exp(x) / (1.0 + np.exp(x))"),
    ],
    "sigmoid_backward": [
        ("the factor (1 - s) missing", "dx = dout * s * (1.0 - s)", "dx = dout * s"),
        ("only (1 - s)", "dx = dout * s * (1.0 - s)", "dx = dout * (1.0 - s)"),
        ("dout forgotten", "dx = dout * s * (1.0 - s)", "dx = s * (1.0 - s)"),
    ],
    "tanh_forward": [
        ("the sigmoid instead of tanh", "out = np.tanh(x)", "out = 1.0 / (1.0 + np.exp(-np.clip(x, -500, 500)))"),
        ("tanh(x / 2)", "out = np.tanh(x)", "out = np.tanh(x / 2)"),
        ("hard tanh (clipping)", "out = np.tanh(x)", "out = np.clip(x, -1.0, 1.0)"),
    ],
    "tanh_backward": [
        ("1 - tanh, not squared", "dx = dout * (1.0 - t ** 2)", "dx = dout * (1.0 - t)"),
        ("the sigmoid's derivative rule", "dx = dout * (1.0 - t ** 2)", "dx = dout * t * (1.0 - t)"),
        ("1 + tanh squared", "dx = dout * (1.0 - t ** 2)", "dx = dout * (1.0 + t ** 2)"),
    ],
    "softmax_loss": [
        ("summed over the batch instead of averaged",
         "loss = -log_probs[rows, y].mean()\n    dscores = np.exp(log_probs)\n    dscores[rows, y] -= 1.0\n    dscores /= n",
         "loss = -log_probs[rows, y].sum()\n    dscores = np.exp(log_probs)\n    dscores[rows, y] -= 1.0", "summed"),
        ("gradient not divided by N", "    dscores /= n\n", "\n"),
        ("no shift: overflows for large logits", "shifted = scores - scores.max(axis=1, keepdims=True)",
         "shifted = scores"),
        ("gradient misses the -1 at the true class", "dscores[rows, y] -= 1.0", "pass"),
        ("the log of the probabilities: -inf when one underflows", "loss = -log_probs[rows, y].mean()",
         "loss = -np.log(np.exp(log_probs)[rows, y]).mean()"),
    ],
    "mse_loss": [
        ("the factor 1/2 of the squared loss", "loss = np.mean(diff ** 2)\n    dpred = 2.0 * diff / diff.size",
         "loss = 0.5 * np.mean(diff ** 2)\n    dpred = diff / diff.size", "halved"),
        ("averaged over the examples only", "loss = np.mean(diff ** 2)\n    dpred = 2.0 * diff / diff.size",
         "loss = np.sum(diff ** 2) / diff.shape[0]\n    dpred = 2.0 * diff / diff.shape[0]", "per_example"),
        ("gradient with the wrong sign", "dpred = 2.0 * diff / diff.size", "dpred = -2.0 * diff / diff.size"),
    ],
    "dropout_forward": [
        ("kept units scaled by p instead of 1/(1 - p)", "mask = (rng.random(x.shape) >= p) / (1.0 - p)",
         "mask = (rng.random(x.shape) >= p) * p"),
        ("p taken as the probability of keeping", "mask = (rng.random(x.shape) >= p) / (1.0 - p)",
         "mask = (rng.random(x.shape) < p) / p"),
        ("no scaling (plain dropout)", "mask = (rng.random(x.shape) >= p) / (1.0 - p)",
         "mask = (rng.random(x.shape) >= p) * 1.0"),
        ("the seed ignored: a new mask on every call", "rng = np.random.default_rng(seed)",
         "rng = np.random.default_rng()"),
        ("one mask per feature, shared by the whole batch", "mask = (rng.random(x.shape) >= p) / (1.0 - p)",
         "mask = (rng.random(x.shape[1:]) >= p) / (1.0 - p)"),
        ("eval mode scales by 1 - p", "return x.copy(), (None, mode)", "return x * (1.0 - p), (None, mode)"),
    ],
    "dropout_backward": [
        ("scale forgotten in backward", "return dout * mask", "return dout * (mask != 0)"),
        ("scaled the wrong way (times 1 - p)", "return dout * mask",
         "return np.divide(dout, mask, out=np.zeros_like(dout), where=mask != 0)"),
        ("eval mode blocks the gradient", "return dout.copy()", "return np.zeros_like(dout)"),
        ("the caller's dout scaled in place (right values)", "return dout * mask", "dout *= mask\n    return dout"),
    ],
    "batchnorm_forward": [
        ("the caller's x centred in place (right values)", "x_hat = (x - mu) * inv_std",
         "x -= mu\n        x_hat = x * inv_std"),
        ("running variance from the biased batch variance", "momentum * var * n / (n - 1)", "momentum * var",
         "running_var_biased"),
        ("momentum used the other way round",
         'bn_param["running_mean"] = (1 - momentum) * bn_param["running_mean"] + momentum * mu\n'
         '        bn_param["running_var"] = (1 - momentum) * bn_param["running_var"] + momentum * var * n / (n - 1)',
         'bn_param["running_mean"] = momentum * bn_param["running_mean"] + (1 - momentum) * mu\n'
         '        bn_param["running_var"] = momentum * bn_param["running_var"] + (1 - momentum) * var * n / (n - 1)',
         "momentum_swapped"),
        ("normalized with the unbiased variance", "inv_std = 1.0 / np.sqrt(var + eps)\n        x_hat",
         "inv_std = 1.0 / np.sqrt(var * n / (n - 1) + eps)\n        x_hat", "normalize_unbiased"),
        ("eval mode uses the batch statistics", 'if bn_param["mode"] == "train":', "if True:"),
        ("eps outside the square root", "inv_std = 1.0 / np.sqrt(var + eps)", "inv_std = 1.0 / (np.sqrt(var) + eps)"),
    ],
    "batchnorm_backward": [
        ("dbeta averaged instead of summed", "dbeta = dout.sum(axis=0)", "dbeta = dout.mean(axis=0)"),
        ("the caller's dout scaled by gamma in place (right values)", "dx_hat = dout * gamma",
         "dx_hat = dout\n    dx_hat *= gamma"),
        ("dx ignores the paths through the mean and the variance",
         "dx = inv_std / n * (n * dx_hat - dx_hat.sum(axis=0) - x_hat * np.sum(dx_hat * x_hat, axis=0))",
         "dx = dx_hat * inv_std"),
        ("dx ignores the path through the variance",
         "dx = inv_std / n * (n * dx_hat - dx_hat.sum(axis=0) - x_hat * np.sum(dx_hat * x_hat, axis=0))",
         "dx = inv_std / n * (n * dx_hat - dx_hat.sum(axis=0))"),
        ("gamma forgotten in dx", "dx_hat = dout * gamma", "dx_hat = dout"),
    ],
    "glorot_init": [
        ("variance 1/(fan_in + fan_out)", "std = gain * np.sqrt(2.0 / (fan_in + fan_out))",
         "std = gain * np.sqrt(1.0 / (fan_in + fan_out))"),
        ("gain ignored", "std = gain * np.sqrt(2.0 / (fan_in + fan_out))", "std = np.sqrt(2.0 / (fan_in + fan_out))"),
        ("uniform bound set to the standard deviation", "a = np.sqrt(3.0) * std", "a = std"),
        ("a convolution's fans without the receptive field",
         "fan_in, fan_out = shape[1] * receptive_field, shape[0] * receptive_field", "fan_in, fan_out = shape[1], shape[0]"),
        ("always normal", 'if distribution == "uniform":', "if False:"),
        ("the seed ignored (a fresh generator every call)", "rng = np.random.default_rng(seed)",
         "rng = np.random.default_rng()"),
    ],
    "he_init": [
        ("fan_in and fan_out swapped", 'std = np.sqrt(2.0 / (fan_in if mode == "fan_in" else fan_out))',
         'std = np.sqrt(2.0 / (fan_out if mode == "fan_in" else fan_in))'),
        ("no factor 2 (LeCun's variance)", 'std = np.sqrt(2.0 / (fan_in if mode == "fan_in" else fan_out))',
         'std = np.sqrt(1.0 / (fan_in if mode == "fan_in" else fan_out))'),
        ("a 2-D weight read as (out, in)", "        fan_in, fan_out = shape\n", "        fan_out, fan_in = shape\n"),
        ("uniform bound set to the standard deviation", "a = np.sqrt(3.0) * std", "a = std"),
        ("the seed ignored (the global generator)", "rng = np.random.default_rng(seed)", "rng = np.random"),
    ],
    "numerical_gradient": [
        ("one-sided (forward) differences",
         "        x[index] = old - h\n        f_minus = f(x)\n        x[index] = old\n"
         "        grad[index] = (f_plus - f_minus) / (2 * h)",
         "        x[index] = old\n        f_minus = f(x)\n        grad[index] = (f_plus - f_minus) / h",
         "forward_differences"),
        ("x not restored", "        x[index] = old\n        grad[index]", "        grad[index]"),
        ("h fixed at 1e-5, whatever is passed", "grad = np.zeros_like(x, dtype=float)",
         "grad = np.zeros_like(x, dtype=float)\n    h = 1e-5"),
        ("divided by h instead of 2h", "/ (2 * h)", "/ h"),
        ("a copy of x perturbed (f that reads x itself sees no change)",
         "grad = np.zeros_like(x, dtype=float)\n", "grad = np.zeros_like(x, dtype=float)\n    x = x.copy()\n"),
        ("x restored by arithmetic (+h, -2h, +h): off in the last bit",
         "        x[index] = old + h\n        f_plus = f(x)\n        x[index] = old - h\n        f_minus = f(x)\n"
         "        x[index] = old\n",
         "        x[index] += h\n        f_plus = f(x)\n        x[index] -= 2 * h\n        f_minus = f(x)\n"
         "        x[index] += h\n"),
        ("entries perturbed in x.reshape(-1), a copy when x is not laid out row by row",
         "    grad = np.zeros_like(x, dtype=float)\n    for index in np.ndindex(x.shape):\n        old = x[index]\n"
         "        x[index] = old + h\n        f_plus = f(x)\n        x[index] = old - h\n        f_minus = f(x)\n"
         "        x[index] = old\n        grad[index] = (f_plus - f_minus) / (2 * h)\n",
         "    grad, flat = np.zeros(x.size), x.reshape(-1)\n    for i in range(x.size):\n        old = flat[i]\n"
         "        flat[i] = old + h\n        f_plus = f(x)\n        flat[i] = old - h\n        f_minus = f(x)\n"
         "        flat[i] = old\n        grad[i] = (f_plus - f_minus) / (2 * h)\n    grad = grad.reshape(x.shape)\n"),
    ],
    "relative_error": [
        ("no floor: 0/0 where both are 0", "np.maximum(1e-8, np.abs(a) + np.abs(b))", "(np.abs(a) + np.abs(b))"),
        ("mean instead of max", "np.max(", "np.mean("),
        ("denominator max(|a|, |b|)", "np.maximum(1e-8, np.abs(a) + np.abs(b))",
         "np.maximum(1e-8, np.maximum(np.abs(a), np.abs(b)))"),
        ("floor added instead of taken as a maximum", "np.maximum(1e-8, np.abs(a) + np.abs(b))",
         "(1e-8 + np.abs(a) + np.abs(b))"),
    ],
    "mlp_loss": [
        ("layers taken from the dict's order, not by name",
         'h, affine_cache = affine_forward(h, params[f"W{layer}"], params[f"b{layer}"])',
         'h, affine_cache = affine_forward(h, *list(params.values())[2 * layer - 2:2 * layer])'),
        ("ReLU after the output layer too",
         "        if layer < layers:\n            h, relu_cache = relu_forward(h)",
         "        h, relu_cache = relu_forward(h)"),
        ("backward skips the ReLUs", "            dh = relu_backward(dh, relu_cache)", "            pass"),
        ("bias gradients left out",
         'dh, grads[f"W{layer}"], grads[f"b{layer}"] = affine_backward(dh, affine_cache)',
         'dh, grads[f"W{layer}"], _ = affine_backward(dh, affine_cache)'),
        ("always two layers, whatever the depth", "layers = len(params) // 2", "layers = 2"),
        ("layers in the keys' sorted order (W10 before W2)",
         'h, affine_cache = affine_forward(h, params[f"W{layer}"], params[f"b{layer}"])',
         'h, affine_cache = affine_forward(h, params[sorted(k for k in params if k[0] == "W")[layer - 1]], '
         'params[sorted(k for k in params if k[0] == "b")[layer - 1]])'),
    ],
    "train_mlp": [
        ("minibatch gradient summed instead of averaged", "_, grads = mlp_loss(params, X[batch], y[batch])",
         "_, grads = mlp_loss(params, X[batch], y[batch])\n            grads = {k: g * len(batch) for k, g in grads.items()}",
         "summed"),
        ("biases never updated", "for key in params:", 'for key in [k for k in params if k.startswith("W")]:'),
        ("never shuffled", "order = rng.permutation(n)", "order = np.arange(n)"),
        ("the uneven last minibatch dropped", "for start in range(0, n, batch_size):",
         "for start in range(0, n - batch_size + 1, batch_size):"),
        ("a new generator each epoch", "order = rng.permutation(n)", "order = np.random.default_rng(seed).permutation(n)"),
        ("momentum ignored", "velocity[key] = momentum * velocity[key] + grads[key]", "velocity[key] = grads[key]"),
        ("dampened momentum, v = mu v + (1 - mu) g", "velocity[key] = momentum * velocity[key] + grads[key]",
         "velocity[key] = momentum * velocity[key] + (1 - momentum) * grads[key]"),
        ("the given params updated in place (a shallow copy, then -=)", TRAIN_LOOP, TRAIN_LOOP_IN_PLACE),
    ],
    "train_xor": [
        ("gradient summed over the examples instead of averaged", "ds = (p - y)[:, None] / len(y)",
         "ds = (p - y)[:, None]"),
        ("the logit's gradient without the sigmoid, s - y", "ds = (p - y)[:, None] / len(y)",
         "ds = (s - y)[:, None] / len(y)"),
        ("tanh's derivative as 1 - h instead of 1 - h^2", "* (1.0 - hs[layer - 1] ** 2)", "* (1.0 - hs[layer - 1])"),
        ("tanh on the output layer too", "hs.append(np.tanh(z) if layer < layers else z)", "hs.append(np.tanh(z))"),
        ("biases never updated", "for key in params:", 'for key in [k for k in params if k.startswith("W")]:'),
        ("the loss as -log p computed from p (inf for a confident wrong logit)",
         "losses[step] = np.mean(np.logaddexp(0.0, s) - y * s)",
         "losses[step] = np.mean(-y * np.log(p) - (1 - y) * np.log(1 - p))"),
        ("the loss recorded after the step", "        for key in params:\n            params[key] = params[key] - learning_rate * grads[key]\n",
         "        for key in params:\n            params[key] = params[key] - learning_rate * grads[key]\n"
         "        h = X\n        for layer in range(1, layers + 1):\n"
         "            h = h @ params[f\"W{layer}\"] + params[f\"b{layer}\"]\n"
         "            h = np.tanh(h) if layer < layers else h\n"
         "        losses[step] = np.mean(np.logaddexp(0.0, h[:, 0]) - y * h[:, 0])\n"),
    ],
}

_AFFINE_DICT_CACHE = {
    "affine_forward": '''def affine_forward(x, W, b):
    out = np.einsum("nd,dm->nm", x, W) + b[None, :]
    return out, {"inputs": x, "weights": W, "n": x.shape[0]}
''',
    "affine_backward": '''def affine_backward(dout, cache):
    x, W = cache["inputs"], cache["weights"]
    dx = np.einsum("nm,dm->nd", dout, W)
    dW = np.einsum("nd,nm->dm", x, dout)
    db = np.einsum("nm->m", dout)
    return dx, dW, db
''',
}

_SIGMOID_FROM_X = {
    "sigmoid_forward": '''def sigmoid_forward(x):
    out = np.exp(-np.logaddexp(0.0, -x))     # 1 / (1 + e^-x) = exp(-log(1 + e^-x)), stable
    return out, x
''',
    "sigmoid_backward": '''def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))

def sigmoid_backward(dout, cache):
    s = _sigmoid(cache)
    return dout * s * (1.0 - s)
''',
}

_DROPOUT_BOOLEAN_MASK = {
    "dropout_forward": '''def dropout_forward(x, p, mode, seed):
    cache = {"mode": mode, "p": p, "keep": None}
    if mode != "train":
        return x, cache
    keep = np.random.default_rng(seed).uniform(size=x.shape) >= p
    cache["keep"] = keep
    return np.where(keep, x / (1.0 - p), 0.0), cache
''',
    "dropout_backward": '''def dropout_backward(dout, cache):
    if cache["mode"] != "train":
        return dout
    return np.where(cache["keep"], dout / (1.0 - cache["p"]), 0.0)
''',
}

_BATCHNORM_STAGED = {
    "batchnorm_forward": '''def batchnorm_forward(x, gamma, beta, bn_param):
    eps = bn_param.get("eps", 1e-5)
    m = bn_param.get("momentum", 0.1)
    if bn_param["mode"] == "train":
        n = x.shape[0]
        mu = np.sum(x, axis=0) / n
        xc = x - mu
        var = np.sum(xc ** 2, axis=0) / n
        std = np.sqrt(var + eps)
        x_hat = xc / std
        bn_param["running_mean"] *= (1 - m)
        bn_param["running_mean"] += m * mu
        bn_param["running_var"] *= (1 - m)
        bn_param["running_var"] += m * np.sum(xc ** 2, axis=0) / (n - 1)
        return gamma * x_hat + beta, {"xc": xc, "std": std, "gamma": gamma, "x_hat": x_hat}
    x_hat = (x - bn_param["running_mean"]) / np.sqrt(bn_param["running_var"] + eps)
    return gamma * x_hat + beta, None
''',
    "batchnorm_backward": '''def batchnorm_backward(dout, cache):
    # the staged graph, one node at a time (x -> xc -> var -> std -> x_hat -> out)
    xc, std, gamma, x_hat = cache["xc"], cache["std"], cache["gamma"], cache["x_hat"]
    n = dout.shape[0]
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * x_hat, axis=0)
    dx_hat = dout * gamma
    dxc = dx_hat / std
    dstd = -np.sum(dx_hat * xc, axis=0) / std ** 2
    dvar = dstd / (2 * std)
    dxc += 2 * xc * dvar / n
    dmu = -np.sum(dxc, axis=0)
    dx = dxc + dmu / n
    return dx, dgamma, dbeta
''',
}

ALTERNATIVES = {
    "affine_forward": [
        ("einsum and a dict cache (with the backward that reads it)", _AFFINE_DICT_CACHE),
        ("loops over the examples", '''def affine_forward(x, W, b):
    out = np.empty((x.shape[0], W.shape[1]))
    for i in range(x.shape[0]):
        out[i] = x[i] @ W + b
    return out, (x, W)
'''),
    ],
    "affine_backward": [
        ("einsum and a dict cache (with the forward that writes it)", _AFFINE_DICT_CACHE),
        ("loops over the batch, a helper, %%time", '''%%time
def _outer(u, v):
    return u[:, None] * v[None, :]

def affine_backward(dout, cache):
    x, W = cache
    dx, dW, db = np.zeros_like(x), np.zeros_like(W), np.zeros(W.shape[1])
    for i in range(x.shape[0]):
        dx[i] = W @ dout[i]
        dW += _outer(x[i], dout[i])
        db += dout[i]
    return dx, dW, db
'''),
    ],
    "relu_forward": [
        ("a boolean mask in the cache (with its backward)", {
            "relu_forward": '''def relu_forward(x):
    positive = x > 0
    return x * positive, positive
''',
            "relu_backward": '''def relu_backward(dout, cache):
    return np.where(cache, dout, 0.0)
'''}),
    ],
    "relu_backward": [
        ("a loop over every entry", '''def relu_backward(dout, cache):
    x = cache
    dx = np.zeros_like(dout)
    for index in np.ndindex(x.shape):
        if x[index] > 0:
            dx[index] = dout[index]
    return dx
'''),
    ],
    "sigmoid_forward": [
        ("through logaddexp, caching x (with its backward)", _SIGMOID_FROM_X),
        ("float32 arithmetic", '''def sigmoid_forward(x):
    x32 = np.clip(x, -80, 80).astype(np.float32)
    s = np.float32(1) / (np.float32(1) + np.exp(-x32))
    return s, s
'''),
    ],
    "sigmoid_backward": [
        ("through logaddexp, caching x (with its forward)", _SIGMOID_FROM_X),
    ],
    "tanh_forward": [
        ("from exponentials, stable", '''def tanh_forward(x):
    e = np.exp(-2.0 * np.abs(x))
    t = np.sign(x) * (1.0 - e) / (1.0 + e)
    return t, t
'''),
    ],
    "tanh_backward": [
        ("from the cosh identity, caching x (with its forward)", {
            "tanh_forward": '''def tanh_forward(x):
    return np.tanh(x), x
''',
            "tanh_backward": '''def tanh_backward(dout, cache):
    return dout / np.cosh(np.clip(cache, -350, 350)) ** 2
'''}),
    ],
    "softmax_loss": [
        ("a loop over the examples", '''def softmax_loss(scores, y):
    n, c = scores.shape
    loss, dscores = 0.0, np.zeros_like(scores)
    for i in range(n):
        s = scores[i] - np.max(scores[i])
        log_p = s - np.log(np.sum(np.exp(s)))
        loss -= log_p[y[i]] / n
        dscores[i] = np.exp(log_p) / n
        dscores[i, y[i]] -= 1.0 / n
    return loss, dscores
'''),
    ],
    "mse_loss": [
        ("np.square and a sum", '''def mse_loss(pred, target):
    r = np.subtract(pred, target)
    return np.square(r).sum() / r.size, (2.0 / r.size) * r
'''),
    ],
    "dropout_forward": [
        ("a boolean mask and np.where (with its backward)", _DROPOUT_BOOLEAN_MASK),
    ],
    "dropout_backward": [
        ("a boolean mask and np.where (with its forward)", _DROPOUT_BOOLEAN_MASK),
    ],
    "batchnorm_forward": [
        ("the staged graph, updating the running statistics with in-place operators (with its backward)",
         _BATCHNORM_STAGED),
    ],
    "batchnorm_backward": [
        ("the staged graph, one node at a time (with its forward)", _BATCHNORM_STAGED),
    ],
    "glorot_init": [
        ("standard draws scaled, a fans helper", '''def _fans(shape):
    if len(shape) == 2:
        return shape[0], shape[1]
    field = 1
    for k in shape[2:]:
        field *= k
    return shape[1] * field, shape[0] * field

def glorot_init(shape, distribution="normal", gain=1.0, seed=None):
    rng = np.random.default_rng(seed)
    fan_in, fan_out = _fans(shape)
    if distribution == "uniform":
        a = gain * (6.0 / (fan_in + fan_out)) ** 0.5
        return a * (2.0 * rng.random(shape) - 1.0)
    return gain * (2.0 / (fan_in + fan_out)) ** 0.5 * rng.standard_normal(shape)
'''),
    ],
    "he_init": [
        ("the bound written as sqrt(6 / fan)", '''def he_init(shape, distribution="normal", mode="fan_in", seed=None):
    shape = tuple(shape)
    field = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    fan_in = shape[0] if len(shape) == 2 else shape[1] * field
    fan_out = shape[1] if len(shape) == 2 else shape[0] * field
    fan = {"fan_in": fan_in, "fan_out": fan_out}[mode]
    rng = np.random.default_rng(seed)
    if distribution == "uniform":
        return rng.uniform(-np.sqrt(6.0 / fan), np.sqrt(6.0 / fan), size=shape)
    return rng.normal(scale=np.sqrt(2.0 / fan), size=shape)
'''),
    ],
    "numerical_gradient": [
        ("a flat view and np.nditer", '''def numerical_gradient(f, x, h=1e-5):
    grad = np.zeros(x.shape)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        i = it.multi_index
        keep = x[i]
        x[i] = keep + h
        up = f(x)
        x[i] = keep - h
        down = f(x)
        x[i] = keep
        grad[i] = (up - down) / (2.0 * h)
        it.iternext()
    return grad
'''),
    ],
    "relative_error": [
        ("a Python loop", '''def relative_error(a, b):
    worst = 0.0
    for u, v in zip(np.ravel(a), np.ravel(b)):
        worst = max(worst, abs(u - v) / max(1e-8, abs(u) + abs(v)))
    return worst
'''),
    ],
    "mlp_loss": [
        ("everything inline, no layer functions", '''def mlp_loss(params, X, y):
    L = len(params) // 2
    hs = [X]
    for l in range(1, L):
        hs.append(np.maximum(hs[-1] @ params["W%d" % l] + params["b%d" % l], 0.0))
    s = hs[-1] @ params["W%d" % L] + params["b%d" % L]
    s = s - s.max(axis=1, keepdims=True)
    log_p = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
    p = np.exp(log_p)
    n = X.shape[0]
    loss = -np.mean(log_p[np.arange(n), y])
    g = p.copy()
    g[np.arange(n), y] -= 1.0
    g /= n
    grads = {}
    for l in range(L, 0, -1):
        grads["W%d" % l] = hs[l - 1].T @ g
        grads["b%d" % l] = g.sum(axis=0)
        if l > 1:
            g = (g @ params["W%d" % l].T) * (hs[l - 1] > 0)
    return loss, grads
'''),
    ],
    "train_mlp": [
        ("week 2's sgd_momentum(w, dw, config), one config per array", '''def sgd_momentum(w, dw, config):
    g = dw + config.get("weight_decay", 0.0) * w
    v = config["momentum"] * config.get("velocity", np.zeros_like(w)) + g
    config["velocity"] = v
    return w - config["learning_rate"] * v, config

def train_mlp(X, y, params, epochs, batch_size, learning_rate, momentum, seed):
    rng = np.random.default_rng(seed)
    params = dict(params)
    configs = {k: {"learning_rate": learning_rate, "momentum": momentum} for k in params}
    n = len(y)
    for _ in range(epochs):
        order = rng.permutation(n)
        batches = [order[i:i + batch_size] for i in range(0, n, batch_size)]
        for batch in batches:
            loss, grads = mlp_loss(params, X[batch], y[batch])
            for k in params:
                params[k], configs[k] = sgd_momentum(params[k], grads[k], configs[k])
    return params
'''),
    ],
    "train_xor": [
        ("a forward and a backward helper, the sigmoid through np.where", '''def _sigmoid(s):
    e = np.exp(-np.abs(s))
    return np.where(s >= 0, 1.0 / (1.0 + e), e / (1.0 + e))

def _forward(params, X):
    hs = [X]
    L = len(params) // 2
    for l in range(1, L + 1):
        z = hs[-1] @ params["W%d" % l] + params["b%d" % l]
        hs.append(np.tanh(z) if l < L else z)
    return hs

def train_xor(X, y, params, steps, learning_rate):
    params = {k: np.array(v, dtype=float) for k, v in params.items()}
    L = len(params) // 2
    losses = []
    for _ in range(steps):
        hs = _forward(params, X)
        s = hs[-1].ravel()
        losses.append(np.mean(y * np.logaddexp(0.0, -s) + (1 - y) * np.logaddexp(0.0, s)))
        delta = ((_sigmoid(s) - y) / X.shape[0]).reshape(-1, 1)
        new = {}
        for l in range(L, 0, -1):
            new["W%d" % l] = params["W%d" % l] - learning_rate * hs[l - 1].T @ delta
            new["b%d" % l] = params["b%d" % l] - learning_rate * delta.sum(axis=0)
            delta = (delta @ params["W%d" % l].T) * (1 - hs[l - 1] ** 2)
        params = new
    return params, np.array(losses, dtype=float)
'''),
    ],
}
