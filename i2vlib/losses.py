"""Loss terms shared by the methods.

``gan_d`` and ``gan_g`` are the cross-entropy GAN losses of AffineGAN's Eq. 7, 8 and 11 and
Fan et al.'s Eq. 3-4, written on logits: the discriminator minimises
``-log D(real) - log(1 - D(fake))``; the generator minimises the non-saturating ``-log D(fake)``.
``wgan_d``, ``wgan_g`` and ``gradient_penalty`` are FRGAN's WGAN-GP critic losses (Eq. 7-9, 12-14):
the penalty is a loss term of its own, weighted by lambda like any other term.
``gdl`` is Mathieu et al.'s gradient difference loss (MCNet's L_gdl, Mathieu et al.'s baseline).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _per_sample(logits: torch.Tensor, target: float) -> torch.Tensor:
    loss = F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target), reduction="none")
    return loss.flatten(1).mean(1)


def weighted_mean(x: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor:
    if weight is None:
        return x.mean()
    weight = weight.to(x.dtype)
    return (x * weight).sum() / weight.sum().clamp_min(1.0)


def gan_d(real_logits: torch.Tensor, fake_logits: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Discriminator loss ``-log D(real) - log(1 - D(fake))``, averaged over samples (``weight``: 0/1 per sample)."""
    return weighted_mean(_per_sample(real_logits, 1.0) + _per_sample(fake_logits, 0.0), weight)


def gan_g(fake_logits: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Generator loss ``-log D(fake)`` (non-saturating form of ``log(1 - D(fake))``)."""
    return weighted_mean(_per_sample(fake_logits, 1.0), weight)


def l1(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean absolute error ``||x - y||_1 / n`` (AffineGAN Eq. 9-10, Fan et al.'s L_r)."""
    return (x - y).abs().mean()


def wgan_d(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """The WGAN critic's loss ``D(fake) - D(real)`` (FRGAN Eq. 8 and 13, without the penalty)."""
    return fake_scores.float().mean() - real_scores.float().mean()


def wgan_g(fake_scores: torch.Tensor) -> torch.Tensor:
    """The WGAN generator's loss ``-D(fake)`` (FRGAN Eq. 7 and 12)."""
    return -fake_scores.float().mean()


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al. 2017; FRGAN Eq. 9 and 14): ``(||grad_x D(x)||_2 - 1)^2`` averaged over
    samples, at ``x`` drawn uniformly on the line between each real and fake input.

    ``real`` and ``fake`` are the critic's whole inputs (FRGAN: image and motion map concatenated, so
    the gradient is taken with respect to both); the penalty's weight lambda is the term's weight.
    """
    eps = torch.rand(len(real), *[1] * (real.ndim - 1), device=real.device, dtype=real.dtype)
    x = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    grad, = torch.autograd.grad(critic(x).float().sum(), x, create_graph=True)
    return ((grad.flatten(1).float().norm(dim=1) - 1) ** 2).mean()


def r1_penalty(critic, real: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """R1 (Mescheder et al., ICML 2018): ``||grad_x D(x)||_2^2 / 2`` at the real inputs ``x``, averaged over samples
    (``weight``: per-sample weights, e.g. AffineGAN's local critic off for an expression without a mouth). It flattens
    the critic around the real data, so the generator is not pushed along directions the critic picks up from pixel
    noise; the penalty's gamma is the term's weight."""
    x = real.detach().requires_grad_(True)
    grad, = torch.autograd.grad(critic(x).float().sum(), x, create_graph=True)
    return weighted_mean(0.5 * grad.flatten(1).float().pow(2).sum(1), weight)


def gdl(x: torch.Tensor, y: torch.Tensor, exponent: float = 1.0) -> torch.Tensor:
    """The gradient difference loss (Mathieu, Couprie and LeCun, ICLR 2016; MCNet's L_gdl) between images (..., H, W)::

        L_gdl(x, y) = mean_ij | |x_ij - x_i-1,j| - |y_ij - y_i-1,j| |^lambda
                    + mean_ij | |x_ij - x_i,j-1| - |y_ij - y_i,j-1| |^lambda          lambda = ``exponent``

    (Mathieu et al.'s alpha), means over the interior pixels (the papers sum; MCNet's official code averages, with
    zeros beyond the border).
    It compares the sharpness of edges, not their colour: 0 for identical images, and for a unit step edge moved
    by one column, two mismatched gradients per row out of W - 1: 2 / (W - 1)."""
    dx = lambda z: (z[..., :, 1:] - z[..., :, :-1]).abs()  # noqa: E731
    dy = lambda z: (z[..., 1:, :] - z[..., :-1, :]).abs()  # noqa: E731
    return ((dx(x) - dx(y)).abs() ** exponent).mean() + ((dy(x) - dy(y)).abs() ** exponent).mean()
