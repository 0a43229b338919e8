"""The DSP blocks each domain offers (the `dsp` parameter of a search space). Pure data, no numpy:
the space schema validates against it."""

from __future__ import annotations

DSP_BLOCKS: dict[str, tuple[str, ...]] = {
    "motion": ("raw", "stats", "spectral", "stats_spectral"),
    "audio": ("spectrogram", "mfe", "mfcc"),
    "image": ("resize",),
    "tabular": ("standardize",),
}
