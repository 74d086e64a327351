"""Problem set 6: objectives and toolkits.

The triplet loss and the linear autoencoder's loss are graded with their gradients against autograd through the
same formulas written in torch operations (the triplet reference agrees with ``torch.nn.TripletMarginLoss(margin,
p=2, eps=0)`` away from the kink, see ``triplet_reference``); the principal angles against ``torch.linalg``'s QR and
singular values. The last function is the course's first in PyTorch: week 3's training loop written with
``torch.nn`` and ``torch.optim``. It may import torch (``imports=("torch",)``), so it is graded in a sandboxed
process of its own whose filesystem view holds torch; it returns plain NumPy arrays, checked here exactly against
the same training by the reference.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from autograder.problemsets._shared import leaf, mlp_forward_torch, train_mlp_cases, train_torch_sgd
from autograder.registry import Case, GradedFunction, Misconception, ProblemSet

RTOL, ATOL = 1e-5, 1e-7  # room for float32 arithmetic; every planted bug is off by far more


# ------------------------------------------------------------------ the triplet loss
def triplet_cases(rng):
    def random(n, d, spread=1.0):
        return rng.normal(size=(n, d)), rng.normal(size=(n, d)) * spread, rng.normal(size=(n, d)) * spread

    a, p, n = random(6, 4)
    cases = [Case("random: 6 triplets in 4 dimensions, margin 1", (a, p, n, 1.0))]
    # every kind of negative in one batch: easy (no loss), semi-hard (inside the margin), hard (closer than p)
    anchor = rng.normal(size=(3, 5))
    direction = rng.normal(size=(3, 5))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    positive = anchor + direction * 1.0                                 # d(a, p) = 1
    other = rng.normal(size=(3, 5))
    other -= (other * direction).sum(axis=1, keepdims=True) * direction  # orthogonal to the positive's direction
    other /= np.linalg.norm(other, axis=1, keepdims=True)
    negative = anchor + other * np.array([[3.0], [1.4], [0.5]])         # d(a, n) = 3 (easy), 1.4 (semi-hard), 0.5 (hard)
    cases.append(Case("one easy, one semi-hard and one hard negative, margin 0.8", (anchor, positive, negative, 0.8)))
    # exactly at the margin, in exact arithmetic: d(a, p) = 5, d(a, n) = 10 on a 3-4-5 grid, margin 5
    a = rng.integers(-3, 4, size=(4, 2)).astype(float)
    signs = rng.choice([-1.0, 1.0], size=(4, 2))
    cases.append(Case("exactly at the margin (margin + d(a, p) - d(a, n) = 0): no loss and no gradient",
                      (a, a + signs * [3.0, 4.0], a + signs * [6.0, 8.0], 5.0)))
    cases.append(Case("just inside the margin (by 1e-3)", (a, a + signs * [3.0, 4.0], a + signs * [6.0, 8.0], 5.001)))
    a, p, n = random(1, 3)
    cases.append(Case("a batch of one triplet, margin 2 (active)", (a, p, n, 2.0 + float(np.linalg.norm(a - n)))))
    a, p, n = random(5, 8, spread=30.0)
    cases.append(Case("large distances (about 100), margin 0.5", (a, p, n, 0.5)))
    return cases


def triplet_reference(anchor, positive, negative, margin, kink_active=False, squared=False, summed=False):
    """Mean of max(0, margin + ||a - p|| - ||a - n||) and its gradients (autograd). At exactly the margin the
    triplet is satisfied: relu's gradient at 0 is 0. (TripletMarginLoss uses clamp_min, whose gradient there is 1,
    and adds eps = 1e-6 to the differences: with eps=0 it gives this loss everywhere else.)"""
    a, p, n = leaf(anchor), leaf(positive), leaf(negative)
    d_ap, d_an = (a - p).norm(dim=1), (a - n).norm(dim=1)
    if squared:
        d_ap, d_an = d_ap ** 2, d_an ** 2
    value = margin + d_ap - d_an
    losses = torch.clamp_min(value, 0.0) if kink_active else F.relu(value)
    loss = losses.sum() if summed else losses.mean()
    return (loss.detach(), *torch.autograd.grad(loss, (a, p, n)))


# ------------------------------------------------------------------ the linear autoencoder
def linear_ae_cases(rng):
    specs = [("random: 20 examples, 6 features, a code of 2", 20, 6, 2),
             ("a code of one number (k = 1)", 10, 5, 1),
             ("a code as large as the input (k = D = 4)", 8, 4, 4),
             ("one example (N = 1)", 1, 7, 3),
             ("more features than examples (N = 3, D = 9, k = 2)", 3, 9, 2)]
    return [Case(label, (rng.normal(size=(n, d)), rng.normal(size=(d, k)) * 0.5, rng.normal(size=(k, d)) * 0.5))
            for label, n, d, k in specs]


def linear_ae_reference(X, W_enc, W_dec, reduction="per_example"):
    W_enc, W_dec = leaf(W_enc), leaf(W_dec)
    squared = ((X @ W_enc @ W_dec - X) ** 2).sum()
    loss = {"per_example": squared / X.shape[0], "per_entry": squared / X.numel()}[reduction]
    return (loss.detach(), *torch.autograd.grad(loss, (W_enc, W_dec)))


# ------------------------------------------------------------------ principal angles
def rotation_plane(rng, d, angle):
    """Two planes in d dimensions that meet at ``angle`` along one shared direction (the other angle is 0)."""
    q, _ = np.linalg.qr(rng.normal(size=(d, 3)))
    first = q[:, :2]
    second = np.stack([q[:, 0], math.cos(angle) * q[:, 1] + math.sin(angle) * q[:, 2]], axis=1)
    return first, second


def principal_angle_cases(rng):
    A = rng.normal(size=(6, 2))
    first, second = rotation_plane(rng, 5, math.pi / 6)
    q, _ = np.linalg.qr(rng.normal(size=(6, 4)))
    mixing = rng.normal(size=(3, 3))
    # the same subspace, with bases chosen so that NumPy's QR and SVD put a cosine above 1 by rounding (found by
    # trying; every seed gets such a pair): arccos of it is NaN unless the cosines are clipped first
    for _ in range(1000):
        same = rng.normal(size=(7, 3))
        mixed = same @ rng.normal(size=(3, 3))
        if np.linalg.svd(np.linalg.qr(same)[0].T @ np.linalg.qr(mixed)[0], compute_uv=False).max() > 1.0:
            break
    return [
        Case("the same subspace where the computed cosines round above 1: all angles 0", (same, mixed)),
        Case("random: two planes in 6 dimensions", (A, rng.normal(size=(6, 2)))),
        Case("planes meeting at 30 degrees along a shared line: angles 0 and pi/6", (first, second)),
        Case("the same subspace, another basis (mixed and scaled columns): all angles 0", (A, A @ rng.normal(size=(2, 2)))),
        Case("orthogonal subspaces: all pi/2", (q[:, :2], q[:, 2:4])),
        Case("different dimensions: a line and a 3-dimensional subspace (one angle)", (rng.normal(size=(5, 1)),
                                                                                      rng.normal(size=(5, 3)))),
        Case("non-orthonormal bases of large scale, k = 3 in 8 dimensions",
             (rng.normal(size=(8, 3)) * 100, rng.normal(size=(8, 3)) @ mixing)),
    ]


def principal_angles_reference(A, B, degrees=False, unsorted=False):
    Qa, _ = torch.linalg.qr(A)
    Qb, _ = torch.linalg.qr(B)
    s = torch.linalg.svdvals(Qa.T @ Qb)
    angles = torch.arccos(torch.clamp(s, -1.0, 1.0))
    if degrees:
        angles = torch.rad2deg(angles)
    if unsorted:
        angles = angles.flip(0)
    return angles


def principal_angles_unnormalised(A, B):
    """Known mistake: the singular values of A.T @ B taken as cosines without orthonormal bases first."""
    s = torch.linalg.svdvals(A.T @ B)
    return torch.arccos(torch.clamp(s, -1.0, 1.0))


# ------------------------------------------------------------------ the course's MLP, written with PyTorch
def train_torch_cases(rng):
    """Week 3's exact training cases (a few epochs on a few digits, given weights and batch order); the held-out
    case is left out: the same training loop was already judged by its outcome in problem set 3."""
    return [case for case in train_mlp_cases(rng) if not case.private]


def train_torch_reference(*args):
    return train_torch_sgd(mlp_forward_torch, *args)


def train_torch_no_zero_grad(*args):
    """Known mistake: the gradients never zeroed between steps (torch adds each backward into .grad)."""
    return train_torch_sgd(mlp_forward_torch, *args, zero_grad=False)


PROBLEM_SET = ProblemSet(
    name="ps6",
    title="Problem set 6: objectives and toolkits",
    functions=(
        GradedFunction(name="triplet_loss", signature="triplet_loss(anchor, positive, negative, margin)",
                       returns=("loss", "d_anchor", "d_positive", "d_negative"), points=3, make_cases=triplet_cases,
                       reference=triplet_reference, rtol=RTOL,
                       atol=2e-6,  # float32 cannot resolve a loss of 1e-3 made of distances of 5 and 10 better
                       misconceptions=(
                           Misconception("kink_active", lambda *a: triplet_reference(*a, kink_active=True),
                                         "a triplet exactly at the margin counted as violated; there it is "
                                         "satisfied: no loss and no gradient"),
                           Misconception("squared", lambda *a: triplet_reference(*a, squared=True),
                                         "squared distances; the loss here uses the distances themselves"),
                           Misconception("summed", lambda *a: triplet_reference(*a, summed=True),
                                         "the loss summed over the triplets; it is their mean"))),
        GradedFunction(name="linear_ae_loss", signature="linear_ae_loss(X, W_enc, W_dec)",
                       returns=("loss", "dW_enc", "dW_dec"), points=3, make_cases=linear_ae_cases,
                       reference=linear_ae_reference, rtol=RTOL, atol=ATOL,
                       misconceptions=(Misconception("per_entry", lambda *a: linear_ae_reference(*a, reduction="per_entry"),
                                                     "the squared error averaged over every entry; it is summed over "
                                                     "the features and averaged over the examples"),)),
        GradedFunction(name="principal_angles", signature="principal_angles(A, B)", returns=("angles",), points=2,
                       make_cases=principal_angle_cases,
                       # arccos near 1 loses half the digits: an angle of 0 comes out as about 1e-8 (in
                       # degrees up to 1e-6, which the "in degrees" diagnosis must still recognise)
                       reference=principal_angles_reference, rtol=1e-6, atol=1e-5,
                       misconceptions=(
                           Misconception("degrees", lambda *a: principal_angles_reference(*a, degrees=True),
                                         "the angles in degrees; they are in radians"),
                           Misconception("descending", lambda *a: principal_angles_reference(*a, unsorted=True),
                                         "the angles largest first; they go smallest first"),
                           Misconception("unnormalised", principal_angles_unnormalised,
                                         "cosines taken from the given bases without making them orthonormal first"))),
        GradedFunction(name="train_mlp_torch",
                       signature="train_mlp_torch(X, y, params, epochs, batch_size, learning_rate, momentum, seed)",
                       returns=("params",), points=3, make_cases=train_torch_cases, reference=train_torch_reference,
                       rtol=1e-9, atol=1e-11, imports=("torch",), driver="keeps_inputs", time_limit_s=60.0,
                       misconceptions=(Misconception("no_zero_grad", train_torch_no_zero_grad,
                                                     "the gradients are never zeroed between steps, so each step "
                                                     "adds up every earlier minibatch's gradient"),)),
    ),
)
