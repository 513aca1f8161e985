"""Models: MLPs (hidden sizes, dropout, max-norm) and the small conv teacher of the subclass paper.

Every model maps flattened images ``[B, 784]`` to logits ``[B, out_dim]`` and exposes
``features(x)``, the penultimate-layer activations (what the last linear layer sees).
A subclass head is just ``out_dim = c * n_sub`` in class-major layout (class ``j`` owns
columns ``j*n_sub ... j*n_sub + n_sub - 1``); see :func:`subclass_lib.losses.grouped_logits`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def _check_positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def _check_rate(name: str, value) -> float:
    if not (0.0 <= float(value) < 1.0):
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    return float(value)


class MLP(nn.Module):
    """Fully connected ReLU net: ``in_dim -> hidden[0] -> ... -> hidden[-1] -> out_dim``.

    Args:
        hidden: sizes of the hidden layers (an int means one layer).
        out_dim: number of logits.
        dropout: dropout rate after every hidden layer.
        input_dropout: dropout rate on the input pixels (Hinton et al. used 0.2).
        max_norm: if set, every linear layer's incoming weight vector (a row of ``weight``)
            is rescaled to L2 norm at most ``max_norm`` after each optimiser step
            (call :meth:`apply_constraints`; :func:`subclass_lib.train.fit` does).
    """

    def __init__(
        self,
        hidden: int | Sequence[int] = (256,),
        out_dim: int = 10,
        in_dim: int = 784,
        dropout: float = 0.0,
        input_dropout: float = 0.0,
        max_norm: float | None = None,
    ):
        super().__init__()
        if isinstance(hidden, int):
            hidden = (hidden,)
        hidden = tuple(_check_positive_int("hidden size", h) for h in hidden)
        if not hidden:
            raise ValueError("hidden must name at least one hidden layer")
        _check_positive_int("out_dim", out_dim)
        _check_positive_int("in_dim", in_dim)
        dropout = _check_rate("dropout", dropout)
        input_dropout = _check_rate("input_dropout", input_dropout)
        if max_norm is not None and not float(max_norm) > 0:
            raise ValueError(f"max_norm must be > 0 or None, got {max_norm!r}")
        self.in_dim, self.out_dim, self.hidden = in_dim, out_dim, hidden
        self.max_norm = None if max_norm is None else float(max_norm)
        layers: list[nn.Module] = []
        if input_dropout > 0:
            layers.append(nn.Dropout(input_dropout))
        width = in_dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = h
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, out_dim)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate-layer activations ``[B, hidden[-1]]`` (after ReLU and dropout)."""
        if x.dim() != 2 or x.shape[1] != self.in_dim:
            raise ValueError(f"expected input of shape [B, {self.in_dim}], got {tuple(x.shape)}")
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    @torch.no_grad()
    def apply_constraints(self) -> None:
        """Rescale each unit's incoming weights to norm <= max_norm (no-op without max_norm)."""
        if self.max_norm is None:
            return
        for m in self.modules():
            if isinstance(m, nn.Linear):
                norms = m.weight.norm(dim=1, keepdim=True)
                m.weight.mul_(torch.clamp(self.max_norm / norms.clamp_min(1e-12), max=1.0))


def hidden_label(hidden) -> str:
    """Hidden layer sizes as the book writes them: ``(800, 800)`` -> ``"2x800"``, ``(256,)`` -> ``"256"``,
    ``(128, 64)`` -> ``"128-64"``."""
    h = tuple(int(v) for v in hidden)
    if len(h) > 1 and len(set(h)) == 1:
        return f"{len(h)}x{h[0]}"
    return "-".join(map(str, h))


class ConvTeacher(nn.Module):
    """The MNIST teacher of the subclass paper (appendix A).

    conv 32 3x3 - ReLU - max-pool 2x2 - conv 64 2x2 - ReLU - max-pool 2x2 - dropout -
    dense 128 - ReLU - dropout - dense ``out_dim``. Takes flattened ``[B, 784]`` images.
    """

    def __init__(self, out_dim: int = 10, dropout: float = 0.5, width: int = 1):
        super().__init__()
        _check_positive_int("out_dim", out_dim)
        _check_positive_int("width", width)
        dropout = _check_rate("dropout", dropout)
        self.in_dim, self.out_dim = 784, out_dim
        self.conv = nn.Sequential(
            nn.Conv2d(1, 32 * width, 3), nn.ReLU(), nn.MaxPool2d(2),      # 26 -> 13
            nn.Conv2d(32 * width, 64 * width, 2), nn.ReLU(), nn.MaxPool2d(2, 2),  # 12 -> 6
            nn.Flatten(), nn.Dropout(dropout),
            nn.Linear(64 * width * 6 * 6, 128), nn.ReLU(), nn.Dropout(dropout),
        )
        self.head = nn.Linear(128, out_dim)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != 784:
            raise ValueError(f"expected input of shape [B, 784], got {tuple(x.shape)}")
        return self.conv(x.view(-1, 1, 28, 28))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    def apply_constraints(self) -> None:  # no weight constraint in this architecture
        return None


def build_model(kind: str = "mlp", **kwargs) -> nn.Module:
    """Build a model by name: ``"mlp"`` (:class:`MLP`) or ``"conv"`` (:class:`ConvTeacher`)."""
    if kind == "mlp":
        return MLP(**kwargs)
    if kind == "conv":
        return ConvTeacher(**kwargs)
    raise ValueError(f"model kind must be 'mlp' or 'conv', got {kind!r}")


@torch.no_grad()
def predict(model: nn.Module, images: torch.Tensor, batch_size: int = 4096,
            features: bool = False, device: str | torch.device | None = None) -> torch.Tensor:
    """Logits (or penultimate features) of ``model`` on ``images`` in eval mode, on the CPU.

    Runs in batches on the model's own device; restores the model's train/eval mode.
    """
    if images.dim() != 2:
        raise ValueError(f"images must be [N, D], got shape {tuple(images.shape)}")
    was_training = model.training
    model.eval()
    if device is None:
        try:
            device = next(model.parameters()).device
        except StopIteration:
            device = torch.device("cpu")
    fn = model.features if features else model
    out = [fn(images[i:i + batch_size].to(device)).cpu() for i in range(0, len(images), batch_size)]
    model.train(was_training)
    return torch.cat(out) if out else torch.empty(0)
