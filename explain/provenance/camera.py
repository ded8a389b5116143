"""Camera evidence from EXIF (or XMP's copy of it): make, model, lens, capture time, GPS presence.

GPS: only whether latitude/longitude tags exist. Coordinates are never decoded, stored or shown
(`exif.py` does not even read them).

Camera EXIF is easy to copy from another photo or to write with any tool, so it is at most
"moderate" evidence, and only when it looks like what a camera writes (maker notes, exposure
settings, a capture time) rather than a bare make/model pair.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import exif as t
from . import limits
from .findings import Finding

if TYPE_CHECKING:
    from .sources import Sources


def camera_findings(src: Sources) -> list[Finding]:
    e, x = src.exif, src.xmp
    make, model = camera_make_model(src)
    lens = e.text(t.LENS_MODEL) or x.first("exifEX:LensModel") or x.first("aux:Lens")
    captured = e.text(t.DATETIME_ORIGINAL) or x.first("exif:DateTimeOriginal")
    exposure = any(e.number(tag) is not None for tag in (t.EXPOSURE_TIME, t.F_NUMBER, t.ISO))
    maker_note = e.maker_note_bytes > 0
    if not (make or model):
        if e.gps_present:
            return [
                Finding(
                    kind="camera",
                    strength="weak",
                    points_to="camera",
                    title="Location tags present (no camera named)",
                    meaning=(
                        "EXIF holds GPS location tags but names no camera; phones and some apps "
                        "add them. We do not read or show the location."
                    ),
                    details={"gps_present": True},
                )
            ]
        return []
    camera = _camera_name(make, model)
    details: dict[str, Any] = {
        "make": limits.clean_text(make, 80) or None,
        "model": limits.clean_text(model, 120) or None,
        "lens": limits.clean_text(lens, 120) or None,
        "capture_time": limits.clean_text(captured, 40) or None,
        "gps_present": e.gps_present,
        "exposure_settings_present": exposure,
        "maker_note_present": maker_note,
    }
    signs = sum((bool(captured), exposure, maker_note, bool(lens)))
    camera_like = bool(make and model) and signs >= 2
    strength = "moderate" if camera_like else "weak"
    extra = []
    if captured:
        extra.append("a capture time")
    if exposure:
        extra.append("exposure settings")
    if maker_note:
        extra.append("maker notes")
    if e.gps_present:
        extra.append("location tags (not shown)")
    with_what = f", with {_join(extra)}" if extra else ""
    return [
        Finding(
            kind="camera",
            strength=strength,
            points_to="camera",
            title=f"Camera information: {camera}",
            meaning=(
                f"The EXIF names a {camera}{with_what}. EXIF is easy to copy from another photo "
                "or edit, so it supports a camera origin without proving it."
            ),
            details=details,
        )
    ]


def _camera_name(make: str | None, model: str | None) -> str:
    make_s = limits.clean_text(make, 60)
    model_s = limits.clean_text(model, 80)
    if make_s and model_s.lower().startswith(make_s.split()[0].lower()):
        return model_s  # "Canon" + "Canon EOS R5" -> "Canon EOS R5"
    return " ".join(p for p in (make_s, model_s) if p) or "camera"


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def camera_make_model(src: Sources) -> tuple[str | None, str | None]:
    """EXIF (or XMP) make and model, leaving out what a generator parked there (ComfyUI JSON)."""
    make = src.exif.text(t.MAKE) or src.xmp.first("tiff:Make")
    model = src.exif.text(t.MODEL) or src.xmp.first("tiff:Model")
    return (None if t.keyed_json(make) else make), (None if t.keyed_json(model) else model)


def has_camera_exif(src: Sources) -> bool:
    return any(camera_make_model(src))
