"""Loss terms shared by the methods.

``gan_d`` and ``gan_g`` are the cross-entropy GAN losses of AffineGAN's Eq. 7, 8 and 11 and
Fan et al.'s Eq. 3-4, written on logits: the discriminator minimises
``-log D(real) - log(1 - D(fake))``; the generator minimises the non-saturating ``-log D(fake)``.
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
