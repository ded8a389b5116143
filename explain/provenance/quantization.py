"""JPEG quality from quantization tables, against the standard IJG (libjpeg) tables.

libjpeg, and so Pillow, OpenCV, ImageMagick and most web software, builds its tables by scaling
the two tables of the JPEG standard (ITU T.81 Annex K) by a quality factor Q in 1..100. A file
whose tables equal that scaling for some Q was very likely written by such software at that Q;
cameras, phones and editors like Photoshop mostly use tables of their own, for which the closest
Q is still a useful "about this much compression".
"""

from __future__ import annotations

from dataclasses import dataclass

# Annex K.1 and K.2, natural (row-major) order.
IJG_LUMA = (
    16, 11, 10, 16, 24, 40, 51, 61,
    12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77,
    24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101,
    72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip
IJG_CHROMA = (
    17, 18, 24, 47, 99, 99, 99, 99,
    18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99,
    *([99] * 32),
)  # fmt: skip


def ijg_table(base: tuple[int, ...], quality: int) -> tuple[int, ...]:
    """libjpeg's jpeg_quality_scaling + jpeg_add_quant_table with force_baseline."""
    q = min(max(quality, 1), 100)
    scale = 5000 // q if q < 50 else 200 - 2 * q
    return tuple(min(max((b * scale + 50) // 100, 1), 255) for b in base)


_LUMA_BY_Q = {q: ijg_table(IJG_LUMA, q) for q in range(1, 101)}
_CHROMA_BY_Q = {q: ijg_table(IJG_CHROMA, q) for q in range(1, 101)}


@dataclass(frozen=True)
class QualityEstimate:
    quality: int  # the IJG quality whose tables are closest
    standard: bool  # the tables equal libjpeg's for that quality exactly
    mean_abs_error: float  # per coefficient, against that quality's tables
    tables: int  # how many tables the file has


def estimate_quality(tables: dict[int, tuple[int, ...]]) -> QualityEstimate | None:
    """Closest IJG quality to the file's tables (id 0 = luma, id 1 = chroma when present)."""
    luma = tables.get(0) or (next(iter(tables.values())) if tables else None)
    if luma is None or len(luma) != 64:
        return None
    chroma = tables.get(1)
    if chroma is not None and len(chroma) != 64:
        chroma = None
    best_q, best_err = 0, float("inf")
    for q in range(1, 101):
        err = sum(abs(a - b) for a, b in zip(luma, _LUMA_BY_Q[q], strict=True))
        n = 64
        if chroma is not None:
            err += sum(abs(a - b) for a, b in zip(chroma, _CHROMA_BY_Q[q], strict=True))
            n = 128
        err /= n
        if err < best_err:
            best_q, best_err = q, err
    return QualityEstimate(
        quality=best_q, standard=best_err == 0, mean_abs_error=round(best_err, 3), tables=len(tables)
    )
