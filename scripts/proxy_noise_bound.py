#!/usr/bin/env python3
"""What any coder must spend on the SYNTHETIC proxy tile's noise alone, at each rel-RMSE level
of the lossy table (docs/benchmarks.md, "How small the proxy can get").

Why: issue 11 asks for <= 0.8x the best lossybench peer on the proxy (seed 1) at 1-20%. The
generator (../shared/data/embeddings/make_embedding_tile.py) adds independent Gaussian noise of
12% of each channel's signal std to a 16-dimensional signal, so at low errors most of the bits
of any coder go to that noise, whose cost has a closed form:

- Shannon: X = S + N with N independent of S, so R_X(D) >= R_{X|S}(D) = R_N(D), the reverse
  water-filling rate over the 128 channel noise variances. No coder, of any design, spends
  less on the tile (up to the int8 rounding, printed: ~5% of the noise's RMS).
- One scalar step: what a quantiser with one step for every value (geoembed's `klt`, JPEG
  XL's and JPEG 2000's after their PCA) spends on the same noise, with uniform thresholds,
  each cell rebuilt at its centroid and ideal entropy coding; ~0.25 bit/sample over the
  Shannon rate at high rates.

The signal's own bits come on top of both. Regenerates the tile with the generator's code
and checks it equals the benchmark's int8 array bit for bit.

Usage: proxy_noise_bound.py GENERATOR_DIR PROXY_INT8_NPY [OUT.json]
(numpy only; about two minutes and 3 GB of memory.)
"""
import json
import sys
from math import erf, pi, sqrt

import numpy as np

LEVELS = [0.01, 0.025, 0.05, 0.10, 0.20]
# The generator's defaults, as benchmarked (make_embedding_tile.py make_embedding()).
H, W, C, LATENT, CLASSES, NOISE, SEED = 1000, 750, 128, 16, 8, 0.12, 1


def regenerate(generator):
    """The proxy tile as the generator makes it: (dequantised values, per-channel noise
    variances); the same random draws in the same order."""
    rng = np.random.default_rng(SEED)
    lat = np.empty((H, W, LATENT), np.float64)
    for i in range(LATENT):
        beta = rng.uniform(2.6, 3.6)
        lat[:, :, i] = generator.grf((H, W), beta, rng, kmin=rng.uniform(2, 20))
    fields = np.stack([generator.grf((H, W), 3.0, rng, kmin=8.0) for _ in range(CLASSES)], -1)
    classes = np.argmax(fields, -1)
    means = rng.normal(size=(CLASSES, LATENT)) * 1.5
    z = 0.6 * lat + means[classes]
    mixing = rng.normal(size=(C, LATENT)) * (0.85 ** np.arange(LATENT))[None, :]
    x = z @ mixing.T
    x += rng.normal(size=(C,))[None, None, :] * 0.5
    signal_std = x.std(axis=(0, 1))
    noise_variance = (NOISE * signal_std) ** 2
    x += rng.normal(size=x.shape) * (NOISE * signal_std)[None, None, :]
    scale = np.abs(x).max(-1) / 127.0
    q = np.rint(x / scale[:, :, None]).clip(-127, 127)
    rounding = float(np.sqrt(((q * scale[:, :, None] - x) ** 2).mean()))
    return q.astype(np.int8), q * scale.astype(np.float32)[:, :, None], noise_variance, rounding


def shannon_bits(variances, distortion):
    """Bits per pixel of reverse water-filling over independent Gaussians to `distortion`
    (squared error per pixel)."""
    low, high = 0.0, float(variances.max())
    for _ in range(200):
        level = (low + high) / 2
        if np.minimum(level, variances).sum() > distortion:
            high = level
        else:
            low = level
    return float(np.maximum(0.0, 0.5 * np.log2(variances / low)).sum())


def scalar_quantiser(sigma, step, cells=200):
    """(entropy in bits, squared error) of N(0, sigma²) quantised with thresholds at
    (k + 1/2)·step, each cell rebuilt at its centroid."""
    edges = (np.arange(-cells - 1, cells + 1) + 0.5) * step / sigma
    cdf = np.array([0.0] + [0.5 * (1 + erf(e / sqrt(2))) for e in edges[1:-1]] + [1.0])
    pdf = np.array([0.0] + [np.exp(-0.5 * e * e) / sqrt(2 * pi) for e in edges[1:-1]] + [0.0])
    z_pdf = np.array([0.0] + [e * p for e, p in zip(edges[1:-1], pdf[1:-1])] + [0.0])
    p = np.diff(cdf)
    first = -np.diff(pdf) * sigma  # E[x; cell]
    second = (p - np.diff(z_pdf)) * sigma**2  # E[x²; cell]
    used = p > 1e-300
    entropy = float(-(p[used] * np.log2(p[used])).sum())
    error = float((second[used] - first[used] ** 2 / p[used]).sum())
    return entropy, error


def one_step_bits(sigmas, distortion):
    """Bits per pixel of the best single step for every channel at `distortion`."""
    low, high = np.log(sigmas.min() * 1e-3), np.log(sigmas.max() * 20)
    for _ in range(60):
        mid = (low + high) / 2
        if sum(scalar_quantiser(s, np.exp(mid))[1] for s in sigmas) > distortion:
            high = mid
        else:
            low = mid
    return sum(scalar_quantiser(s, np.exp(low))[0] for s in sigmas)


def main():
    generator_dir, proxy = sys.argv[1:3]
    out = sys.argv[3] if len(sys.argv) > 3 else None
    sys.path.insert(0, generator_dir)
    import make_embedding_tile as generator

    codes, values, noise_variance, rounding = regenerate(generator)
    if not np.array_equal(codes, np.load(proxy)):
        sys.exit(f"{proxy}: not the generator's seed-{SEED} tile")
    pixels = H * W
    energy = float((values.astype(np.float64) ** 2).sum())
    print(f"noise: {np.sqrt(noise_variance.mean()):.4g} RMS, "
          f"{noise_variance.sum() * pixels / energy:.3%} of the energy; "
          f"int8 rounding {rounding:.4g} RMS")
    result = {}
    for level in LEVELS:
        distortion = level * level * energy / pixels
        shannon = shannon_bits(noise_variance, distortion) * pixels / 8
        scalar = one_step_bits(np.sqrt(noise_variance), distortion) * pixels / 8
        result[f"{level:g}"] = {"shannon_bytes": shannon, "one_step_bytes": scalar}
        print(f"rel-RMSE {level:>5.1%}: noise alone >= {shannon / 1e6:6.2f} MB (Shannon), "
              f">= {scalar / 1e6:6.2f} MB (one scalar step)")
    if out:
        with open(out, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
