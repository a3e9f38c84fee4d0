"""2-D maps of embeddings coloured by class: t-SNE (scikit-learn) and UMAP
(``umap-learn``, optional), both with a fixed seed."""
from typing import Optional, Sequence

import numpy as np
from matplotlib.figure import Figure

UMAP_HINT = ('umap-learn is not installed; install it with `pip install umap-learn` '
             '(listed in requirements/optional.txt)')


def umap_available() -> bool:
    """Whether ``umap-learn`` can be imported."""
    try:
        import umap  # noqa: F401
    except ImportError:
        return False
    return True


def tsne_2d(feats: np.ndarray, seed: int = 0) -> np.ndarray:
    """t-SNE (van der Maaten & Hinton, 2008) of ``feats`` ``(N, D)`` to ``(N, 2)``
    with scikit-learn, PCA initialisation and a fixed ``seed``; the perplexity is
    30, or ``(N - 1) / 3`` for small N (scikit-learn needs it below N)."""
    from sklearn.manifold import TSNE
    feats = np.asarray(feats, dtype=np.float32)
    if len(feats) < 3:
        raise ValueError(f't-SNE needs at least 3 embeddings, got {len(feats)}')
    perplexity = min(30.0, (len(feats) - 1) / 3)
    return TSNE(n_components=2, perplexity=perplexity, init='pca',
                random_state=seed).fit_transform(feats)


def umap_2d(feats: np.ndarray, seed: int = 0) -> np.ndarray:
    """UMAP (McInnes et al., 2018) of ``feats`` ``(N, D)`` to ``(N, 2)`` with a
    fixed ``seed`` (which makes umap-learn run single-threaded).

    Raises:
        ImportError: Without ``umap-learn``, with the install command.
    """
    try:
        import umap
    except ImportError:
        raise ImportError(UMAP_HINT) from None
    feats = np.asarray(feats, dtype=np.float32)
    n_neighbors = max(2, min(15, len(feats) - 1))
    return umap.UMAP(n_components=2, n_neighbors=n_neighbors,
                     random_state=seed).fit_transform(feats)


def plot_embedding_map(xy: np.ndarray, labels: np.ndarray,
                       classes: Optional[Sequence[str]], title: str, out: str) -> str:
    """Scatter ``xy`` coloured by ``labels`` with a class legend; saves ``out``."""
    fig = Figure(figsize=(7, 6))
    ax = fig.subplots()
    labels = np.asarray(labels)
    cmap = 'tab10' if labels.max(initial=0) < 10 else 'tab20'
    for label in np.unique(labels):
        mask = labels == label
        name = classes[label] if classes is not None and label < len(classes) \
            else str(label)
        ax.scatter(xy[mask, 0], xy[mask, 1], s=6, label=name,
                   color=_color(cmap, int(label)))
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(fontsize=7, markerscale=2, loc='center left', bbox_to_anchor=(1, 0.5))
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    return out


def _color(cmap: str, index: int):
    from matplotlib import colormaps
    colors = colormaps[cmap].colors
    return colors[index % len(colors)]
