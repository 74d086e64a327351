"""Problem set 6's samples: planted bugs and correct alternatives (full solutions: not installed for students).

As in the earlier problem sets: a mutant must cost its own function only; an alternative must keep full marks.
"""

MUTANTS = {
    "triplet_loss": [
        ("a triplet exactly at the margin counted as violated", "active = (margin + d_p - d_n > 0)",
         "active = (margin + d_p - d_n >= 0)", "kink_active"),
        ("squared distances",
         "    d_p = np.linalg.norm(diff_p, axis=1)\n    d_n = np.linalg.norm(diff_n, axis=1)\n"
         "    g_p = diff_p / d_p[:, None]                      # d ||a - p|| / d a: the unit vector from p to a\n"
         "    g_n = diff_n / d_n[:, None]\n",
         "    d_p = np.sum(diff_p ** 2, axis=1)\n    d_n = np.sum(diff_n ** 2, axis=1)\n"
         "    g_p = 2.0 * diff_p\n    g_n = 2.0 * diff_n\n", "squared"),
        ("summed over the triplets instead of averaged", "n = anchor.shape[0]", "n = 1", "summed"),
        ("the negative's gradient with the wrong sign", "-scale * g_p, scale * g_n", "-scale * g_p, -scale * g_n"),
        ("no hinge: the loss not clipped at zero", "losses = np.maximum(margin + d_p - d_n, 0.0)",
         "losses = margin + d_p - d_n"),
    ],
    "linear_ae_loss": [
        ("averaged over every entry", "n = X.shape[0]", "n = X.size", "per_entry"),
        ("the factor 2 of the square forgotten", "dX_hat = 2.0 * R / n", "dX_hat = R / n"),
        ("residual with the wrong sign", "R = Z @ W_dec - X", "R = X - Z @ W_dec"),
        ("the encoder's gradient left at zero", "dW_enc = X.T @ (dX_hat @ W_dec.T)", "dW_enc = np.zeros_like(W_enc)"),
    ],
    "principal_angles": [
        ("in degrees", "return np.arccos(np.clip(cosines, -1.0, 1.0))",
         "return np.degrees(np.arccos(np.clip(cosines, -1.0, 1.0)))", "degrees"),
        ("largest first", "return np.arccos(np.clip(cosines, -1.0, 1.0))",
         "return np.arccos(np.clip(cosines, -1.0, 1.0))[::-1]", "descending"),
        ("the given bases not made orthonormal", "np.linalg.svd(Qa.T @ Qb, compute_uv=False)",
         "np.linalg.svd(A.T @ B, compute_uv=False)", "unnormalised"),
        ("arcsin instead of arccos", "return np.arccos(np.clip(", "return np.arcsin(np.clip("),
        ("cosines not clipped before arccos (NaN where rounding puts one above 1)",
         "return np.arccos(np.clip(cosines, -1.0, 1.0))", "return np.arccos(cosines)"),
    ],
    "train_mlp_torch": [
        ("gradients never zeroed between steps", "            optimizer.zero_grad()\n", "", "no_zero_grad"),
        ("biases never trained", "torch.optim.SGD(model.parameters(),",
         "torch.optim.SGD([m.weight for m in model if isinstance(m, torch.nn.Linear)],"),
        ("the minibatch loss summed instead of averaged", "model(inputs[batch]), targets[batch])",
         "model(inputs[batch]), targets[batch], reduction=\"sum\")"),
        ("a ReLU after the last layer too", "layers += [linear, torch.nn.ReLU()] if layer < depth else [linear]",
         "layers += [linear, torch.nn.ReLU()]"),
        ("never shuffled", "rng.permutation(len(targets))", "np.arange(len(targets))"),
    ],
}

ALTERNATIVES = {
    "train_mlp_torch": [
        ("an nn.Module of its own with week 3's weight layout (x @ W + b), a DataLoader-free loop", '''import torch
from torch import nn


class MLP(nn.Module):
    def __init__(self, params):
        super().__init__()
        self.weights = nn.ParameterList(nn.Parameter(torch.tensor(params[f"W{l}"])) for l in range(1, len(params) // 2 + 1))
        self.biases = nn.ParameterList(nn.Parameter(torch.tensor(params[f"b{l}"])) for l in range(1, len(params) // 2 + 1))

    def forward(self, h):
        for index, (W, b) in enumerate(zip(self.weights, self.biases)):
            h = h @ W + b
            if index < len(self.weights) - 1:
                h = torch.relu(h)
        return h


def train_mlp_torch(X, y, params, epochs, batch_size, learning_rate, momentum, seed):
    net = MLP(params)
    opt = torch.optim.SGD(net.parameters(), lr=learning_rate, momentum=momentum)
    Xt, yt = torch.tensor(X), torch.tensor(y).long()
    gen = np.random.default_rng(seed)
    for _ in range(epochs):
        perm = gen.permutation(len(y))
        for i in range(0, len(y), batch_size):
            idx = perm[i:i + batch_size]
            opt.zero_grad()
            nn.CrossEntropyLoss()(net(Xt[idx]), yt[idx]).backward()
            opt.step()
    out = {}
    for l, (W, b) in enumerate(zip(net.weights, net.biases), start=1):
        out[f"W{l}"], out[f"b{l}"] = W.detach().numpy().copy(), b.detach().numpy().copy()
    return out
'''),
    ],
    "triplet_loss": [
        ("a loop over the triplets, float32 arithmetic", '''def triplet_loss(anchor, positive, negative, margin):
    a, p, q = (np.asarray(v, dtype=np.float32) for v in (anchor, positive, negative))
    N = len(a)
    total = 0.0
    da, dp, dn = np.zeros_like(a), np.zeros_like(a), np.zeros_like(a)
    for i in range(N):
        u, v = a[i] - p[i], a[i] - q[i]
        du, dv = np.sqrt(u @ u), np.sqrt(v @ v)
        value = margin + du - dv
        if value > 0:
            total += value
            da[i] = (u / du - v / dv) / N
            dp[i] = -u / du / N
            dn[i] = v / dv / N
    return total / N, da, dp, dn
'''),
    ],
    "linear_ae_loss": [
        ("einsum, the loss from the code's Gram matrix", '''def linear_ae_loss(X, W_enc, W_dec):
    N = X.shape[0]
    Xh = np.einsum("nk,kd->nd", np.einsum("nd,dk->nk", X, W_enc), W_dec)
    E = Xh - X
    loss = np.einsum("nd,nd->", E, E) / N
    G = 2 * E / N
    return loss, np.einsum("nd,ne,ke->dk", X, G, W_dec), np.einsum("nd,dk,ne->ke", X, W_enc, G)
'''),
    ],
    "principal_angles": [
        ("the cosines from the eigenvalues of Qa.T Qb Qb.T Qa", '''def principal_angles(A, B):
    def orthonormal(M):
        u, _, _ = np.linalg.svd(M, full_matrices=False)     # an orthonormal basis of the same span
        return u
    Qa, Qb = orthonormal(A), orthonormal(B)
    if Qa.shape[1] > Qb.shape[1]:
        Qa, Qb = Qb, Qa
    C = Qa.T @ Qb
    eig = np.clip(np.linalg.eigvalsh(C @ C.T), 0.0, 1.0)   # ascending squared cosines
    return np.sort(np.arccos(np.sqrt(eig)))
'''),
    ],
}
