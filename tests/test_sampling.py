"""Tests for the generator-driven Gamma / Beta / Dirichlet sampler (rl2/baselines/sampling.py).

Moments, reproducibility and validation; the float32 cases at large shapes (Gamma(1e6),
Beta(300, 200)) check that float32 draws stay accurate where the terms of the Marsaglia–Tsang
accept test nearly cancel.
"""

from __future__ import annotations

import math

import pytest
import torch

from rl2.baselines.sampling import sample_beta, sample_dirichlet, sample_gamma


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("alpha", [0.4, 1.0, 3.5, 50.0, 1e6])
def test_sample_gamma_moments(alpha: float, dtype: torch.dtype) -> None:
    n = 100_000
    x = sample_gamma(torch.full((n,), alpha, dtype=dtype), gen(0)).double()
    assert x.dtype == torch.float64 and bool((x > 0).all())
    # Gamma(a, 1): mean a, variance a.  SE of the mean is sqrt(a/n); SE of the sample
    # variance is about a*sqrt((2 + 6/a)/n): both tolerances are > 4 SE.
    assert x.mean().item() == pytest.approx(alpha, rel=4 * math.sqrt(1 / (alpha * n)) + 1e-6)
    assert x.var().item() == pytest.approx(alpha, rel=4 * math.sqrt((2 + 6 / alpha) / n))


def test_sample_gamma_mixed_shapes_and_reproducible() -> None:
    alpha = torch.tensor([[0.5, 1.0, 2.0], [7.0, 30.0, 1e3]]).expand(20_000, 2, 3)
    a, b = sample_gamma(alpha, gen(3)), sample_gamma(alpha, gen(3))
    assert a.shape == alpha.shape
    assert torch.equal(a, b)
    assert not torch.equal(a, sample_gamma(alpha, gen(4)))
    torch.testing.assert_close(a.mean(0), alpha[0], rtol=0.05, atol=0.0)


def test_sample_gamma_rejects_nonpositive() -> None:
    with pytest.raises(ValueError):
        sample_gamma(torch.tensor([1.0, 0.0]), gen(0))


def test_sample_dirichlet_mean() -> None:
    alpha = torch.tensor([1.0, 2.0, 3.0, 4.0]).expand(50_000, 4)
    p = sample_dirichlet(alpha, gen(1))
    torch.testing.assert_close(p.sum(-1), torch.ones(50_000))
    torch.testing.assert_close(p.mean(0), alpha[0] / 10.0, atol=3e-3, rtol=0.0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("a,b", [(1.0, 1.0), (3.0, 5.0), (300.0, 200.0)])
def test_sample_beta_moments(dtype, a, b):
    size = 200_000
    alpha, beta = torch.full((size,), a, dtype=dtype), torch.full((size,), b, dtype=dtype)
    draws = sample_beta(alpha, beta, gen(0))
    mean, var = a / (a + b), a * b / ((a + b) ** 2 * (a + b + 1))
    assert draws.dtype == dtype and bool(((draws > 0) & (draws < 1)).all())
    assert draws.double().mean().item() == pytest.approx(mean, abs=5 * math.sqrt(var / size))
    assert draws.double().var().item() == pytest.approx(var, rel=0.02)
