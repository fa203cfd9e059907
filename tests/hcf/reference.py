"""Independent float64 NumPy re-computation of HCF's transforms (written from spec/hcf.md and
the PyTorch definitions of Conv2d / ConvTranspose2d / GDN, not from ref.hcf's code)."""

from __future__ import annotations

import numpy as np

PED = (2.0**-18) ** 2


def nonneg(p, minimum):
    bound = np.sqrt(minimum + PED)
    return np.maximum(np.asarray(p, np.float64), bound) ** 2 - PED


def conv2d(x, w, b, stride):
    """torch Conv2d(k, stride, padding=k//2) on NHWC x with HWIO w (direct sum)."""
    x = np.asarray(x, np.float64)
    w = np.asarray(w, np.float64)
    k = w.shape[0]
    p = k // 2
    n, H, W, _ = x.shape
    xp = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
    Ho, Wo = (H + 2 * p - k) // stride + 1, (W + 2 * p - k) // stride + 1
    out = np.zeros((n, Ho, Wo, w.shape[3]))
    for a in range(k):
        for c in range(k):
            patch = xp[:, a:a + stride * (Ho - 1) + 1:stride, c:c + stride * (Wo - 1) + 1:stride]
            out += patch @ w[a, c]
    return out + np.asarray(b, np.float64)


def conv_transpose2d(x, w, b, stride):
    """torch ConvTranspose2d(k, stride, padding=k//2, output_padding=stride-1) by its scatter
    definition: out[s*i - p + a] += x[i] * wt[a], wt[ci, co, a, c] = w[k-1-a, k-1-c, ci, co]."""
    x = np.asarray(x, np.float64)
    w = np.asarray(w, np.float64)
    k = w.shape[0]
    p = k // 2
    wt = w[::-1, ::-1]  # wt[a, c] (spatial) = w[k-1-a, k-1-c]
    n, H, W, _ = x.shape
    Ho, Wo = stride * H, stride * W
    big = np.zeros((n, stride * (H - 1) + k, stride * (W - 1) + k, w.shape[3]))
    for a in range(k):
        for c in range(k):
            big[:, a:a + stride * (H - 1) + 1:stride, c:c + stride * (W - 1) + 1:stride] += x @ wt[a, c]
    return big[:, p:p + Ho, p:p + Wo] + np.asarray(b, np.float64)


def gdn(p, x, inverse):
    beta = nonneg(p["beta"], 1e-6)
    gamma = nonneg(p["gamma"], 0.0)
    norm = np.sqrt((x * x) @ gamma.T + beta)
    return x * norm if inverse else x / norm


def g_a(p, x):
    q = p["g_a"]
    h = np.asarray(x, np.float64)
    for i in range(3):
        h = gdn(q[f"gdn{i}"], conv2d(h, q[f"conv{i}"]["w"], q[f"conv{i}"]["b"], 2), False)
    return conv2d(h, q["conv3"]["w"], q["conv3"]["b"], 2)


def g_s(p, y):
    q = p["g_s"]
    h = np.asarray(y, np.float64)
    for i in range(3):
        h = gdn(q[f"igdn{i}"], conv_transpose2d(h, q[f"deconv{i}"]["w"], q[f"deconv{i}"]["b"], 2), True)
    return conv_transpose2d(h, q["deconv3"]["w"], q["deconv3"]["b"], 2)
