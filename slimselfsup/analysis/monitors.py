"""Diagnostics of contrastive training, computed on the device from one batch.

The FlatNCE paper (Chen et al., 2021, `arXiv 2107.01152
<https://arxiv.org/abs/2107.01152>`_) promises tools to monitor and diagnose
contrastive training; these are they, for every method here that scores positive and
negative similarities:

* InfoNCE against its bound ``log(K + 1)`` (K negatives per anchor): the loss cannot
  fall below 0, and the mutual-information estimate ``log(K + 1) - InfoNCE`` saturates
  at the bound; FlatNCE's ``log xi`` with ``xi = sum_j exp((s_j - s_+) / T)``, whose
  gradient FlatNCE follows (InfoNCE is ``log(1 + xi)``);
* the mean positive and mean hardest-negative cosine similarity and their gap;
* alignment and uniformity of the embeddings (Wang & Isola, 2020, `arXiv 2005.10242
  <https://arxiv.org/abs/2005.10242>`_);
* the effective rank of the embedding matrix (Roy & Vetterli, 2007, "The effective
  rank: a measure of effective dimensionality"): 1 when every row is the same vector
  (complete collapse), the embedding dimension at most.

Every function returns 0-d tensors on the input's device and never reads a value
back to the host, so a caller can compute them during training and synchronise once
when it logs.
"""
import math
from typing import Dict, List, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

#: Below this effective rank the embeddings are reported as collapsed.
DEFAULT_MIN_EFFECTIVE_RANK = 1.5
#: Above this uniformity (0 = all embeddings equal) they are reported as collapsed.
DEFAULT_MAX_UNIFORMITY = -0.05


def alignment(x: Tensor, y: Tensor, alpha: float = 2.0) -> Tensor:
    """Alignment loss ``E ||f(x) - f(y)||^alpha`` over positive pairs (Wang & Isola,
    2020); lower is better aligned. Rows are L2-normalised first.

    Args:
        x (Tensor): Embeddings ``(N, D)``.
        y (Tensor): Embeddings of their positives, ``(N, D)``.
        alpha (float): Exponent. Defaults to 2.

    Returns:
        Tensor: 0-d, in ``[0, 2^alpha]``.
    """
    x, y = F.normalize(x.float(), dim=1), F.normalize(y.float(), dim=1)
    return (x - y).norm(dim=1).pow(alpha).mean()


def alignment_from_similarity(pos: Tensor) -> Tensor:
    """Alignment with ``alpha = 2`` from positive cosine similarities:
    ``||x - y||^2 = 2 - 2 cos(x, y)`` for unit vectors.

    Args:
        pos (Tensor): Cosine similarities of positive pairs, any shape.

    Returns:
        Tensor: 0-d.
    """
    return (2 - 2 * pos.float()).mean()


def uniformity(z: Tensor, t: float = 2.0) -> Tensor:
    """Uniformity loss ``log E_{i<j} exp(-t ||z_i - z_j||^2)`` over all pairs of
    distinct rows (Wang & Isola, 2020); 0 when all rows are equal, about ``-2t`` for
    points spread uniformly over a high-dimensional sphere. Rows are L2-normalised.

    Args:
        z (Tensor): Embeddings ``(N, D)``, ``N >= 2``.
        t (float): Temperature of the Gaussian potential. Defaults to 2.

    Returns:
        Tensor: 0-d, at most 0.
    """
    if z.shape[0] < 2:
        raise ValueError(f'uniformity needs at least 2 embeddings, got {z.shape[0]}')
    z = F.normalize(z.float(), dim=1)
    rows, cols = torch.triu_indices(z.shape[0], z.shape[0], offset=1, device=z.device)
    # ||a - b||^2 = 2 - 2 a.b on the sphere; the Gram matrix is one matmul
    sq_dist = (2 - 2 * (z @ z.T)[rows, cols]).clamp_min(0)
    return torch.logsumexp(-t * sq_dist, dim=0) - math.log(rows.numel())


def effective_rank(z: Tensor, eps: float = 1e-12) -> Tensor:
    """Effective rank ``exp(H(p))`` with ``p_k = s_k / sum(s)`` over the singular
    values ``s`` of ``z`` (Roy & Vetterli, 2007); the matrix is not centred, so
    identical rows give exactly 1.

    Args:
        z (Tensor): Embeddings ``(N, D)``.
        eps (float): Singular values are clamped to it before the ratio, so an all
            zero matrix gives a finite value. Defaults to 1e-12.

    Returns:
        Tensor: 0-d, in ``[1, min(N, D)]``.
    """
    s = torch.linalg.svdvals(z.float()).clamp_min(eps)
    p = s / s.sum()
    # 0 log 0 = 0: clamped tiny singular values contribute ~0
    return torch.exp(-(p * p.log()).sum())


def similarity_monitors(pos: Tensor, neg: Tensor,
                        temperature: Optional[float] = None) -> Dict[str, Tensor]:
    """Monitors of one batch of positive and negative similarities.

    Args:
        pos (Tensor): Positive cosine similarities ``(N, 1)``.
        neg (Tensor): Negative cosine similarities ``(N, K)``.
        temperature (float, optional): The loss's temperature ``T``; without it the
            InfoNCE and FlatNCE values are left out. Defaults to None.

    Returns:
        dict[str, Tensor]: ``pos_cos`` (mean positive), ``hardest_neg_cos`` (mean
        over anchors of the largest negative), ``cos_gap`` (their difference),
        ``alignment`` (``2 - 2 pos``); with ``temperature`` also ``infonce``,
        ``infonce_bound`` (``log(K + 1)``) and ``log_xi`` (FlatNCE).
    """
    pos, neg = pos.float(), neg.float()
    if pos.dim() != 2 or pos.shape[1] != 1 or neg.dim() != 2 or \
            neg.shape[0] != pos.shape[0] or neg.shape[1] == 0:
        raise ValueError('expected pos of shape (N, 1) and neg of shape (N, K>0), got '
                         f'{tuple(pos.shape)} and {tuple(neg.shape)}')
    pos_cos = pos.mean()
    hardest = neg.max(dim=1).values.mean()
    out = dict(pos_cos=pos_cos, hardest_neg_cos=hardest, cos_gap=pos_cos - hardest,
               alignment=alignment_from_similarity(pos))
    if temperature is not None:
        # log xi_i = logsumexp_j (s_j - s_+) / T; InfoNCE_i = log(1 + xi_i)
        log_xi = torch.logsumexp((neg - pos) / temperature, dim=1)
        out.update(infonce=F.softplus(log_xi).mean(),
                   infonce_bound=torch.tensor(math.log(neg.shape[1] + 1),
                                              device=pos.device),
                   log_xi=log_xi.mean())
    return out


def embedding_monitors(z: Tensor, t: float = 2.0) -> Dict[str, Tensor]:
    """``uniformity`` and ``effective_rank`` of a batch of embeddings ``(N, D)``."""
    return dict(uniformity=uniformity(z, t), effective_rank=effective_rank(z))


def collapse_problems(values: Dict[str, float],
                      min_effective_rank: Optional[float] = DEFAULT_MIN_EFFECTIVE_RANK,
                      max_uniformity: Optional[float] = DEFAULT_MAX_UNIFORMITY
                      ) -> List[str]:
    """Which monitor values say the embeddings collapsed.

    Args:
        values (dict): Host values of :func:`embedding_monitors`.
        min_effective_rank (float, optional): Threshold; None disables.
        max_uniformity (float, optional): Threshold; None disables.

    Returns:
        list[str]: One sentence per problem, naming the metric and its value.
    """
    problems = []
    rank = values.get('effective_rank')
    if min_effective_rank is not None and rank is not None and rank < min_effective_rank:
        problems.append(f'effective_rank={rank:.4g} is below {min_effective_rank:g}: the '
                        'embeddings span about one direction (collapse)')
    unif = values.get('uniformity')
    if max_uniformity is not None and unif is not None and unif > max_uniformity:
        problems.append(f'uniformity={unif:.4g} is above {max_uniformity:g}: the '
                        'embeddings are nearly identical (collapse)')
    return problems
