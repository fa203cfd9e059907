"""``MocConfig``: the frozen configuration shared by the moc encoder and decoder.

``ref.moc.model`` re-exports it (``from ref.moc.config import MocConfig``).  Every field
has a default so that adding a field never breaks old checkpoints; the header of a moc
container stores the fields the decoder needs (see spec/moc.md, moc.C14).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ref.core.registry import implements


@implements("moc.C2")
@dataclass(frozen=True)
class MocConfig:
    """Configuration of one moc codec (hashable: usable as a jit static argument).

    Shapes: an input signal has ``ndim`` spatial axes plus a trailing channel axis of
    size ``in_channels`` (images: (H, W, C)).  ``levels`` (J) levels of the wavelet
    packet transform turn every 2^J x ... x 2^J block into ``wpt_channels`` =
    C * 2^(J*D) channels; the bottleneck maps those to ``latent_channels``.
    """

    name: str = "moc"
    # --- analysis (encoder side; owned by ref.moc.wpt / bottleneck / companding)
    wavelet: str = "bior4.4"          # pywt wavelet name (moc.C1)
    levels: int = 3                   # J, number of packet levels (moc.C2)
    ndim: int = 2                     # D, number of spatial axes: 1 audio, 2 image, 3 volume
    in_channels: int = 3              # C
    latent_channels: int = 12         # channels after the 1x1 bottleneck
    latent_bits: int = 8              # companded latent quantised to this many bits
    bottleneck: str = "dense"         # "dense" | "structured" (moc.bottleneck_*)
    bottleneck_bias: bool = True      # dense 1x1 has a bias (as walloc's Conv 1x1)
    structured_blocks: int = 0        # g (block count) of the structured 1x1; 0 = auto
    # --- synthesis (decoder side; owned by ref.moc.decoder -- defaults only)
    decoder_dim: int = 256            # token embedding width
    decoder_depth: int = 4            # number of transformer blocks
    decoder_heads: int = 8            # linear-attention heads
    decoder_mlp_ratio: int = 4        # MLP hidden = ratio * dim
    decoder_patch: int = 1            # latent positions per token along each axis
    # free-form extra (key, value) pairs for future fields, kept hashable
    extra: tuple = ()

    # ------------------------------------------------------------------ derived
    @property
    def block(self) -> int:
        """Side of one WPT block in samples: 2^J."""
        return 1 << self.levels

    @property
    def subbands(self) -> int:
        """Packet leaves per input channel: 2^(J*D)."""
        return 1 << (self.levels * self.ndim)

    @property
    def wpt_channels(self) -> int:
        """Channels after the WPT: C * 2^(J*D) (192 for RGB, J=3, D=2)."""
        return self.in_channels * self.subbands

    @property
    def reduction(self) -> float:
        """Dimension reduction factor: wpt_channels / latent_channels (16 for 192 -> 12)."""
        return self.wpt_channels / self.latent_channels

    def replace(self, **changes: Any) -> "MocConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["extra"] = [list(kv) for kv in self.extra]
        return d

    @staticmethod
    def from_dict(d: dict[str, Any]) -> "MocConfig":
        names = {f.name for f in dataclasses.fields(MocConfig)}
        kw = {k: v for k, v in d.items() if k in names}
        if "extra" in kw:
            kw["extra"] = tuple(tuple(kv) for kv in kw["extra"])
        return MocConfig(**kw)


@implements("moc.C5")
def latent_channels_for(reduction: int, in_channels: int = 3, levels: int = 3, ndim: int = 2) -> int:
    """M = C * 2^(J*D) / R: latent channels giving dimension reduction R (must be an integer)."""
    n = in_channels * (1 << (levels * ndim))
    if reduction <= 0 or n % reduction:
        raise ValueError(f"reduction {reduction} does not divide C*2^(JD) = {n}")
    return n // reduction
