"""Re-encoding traces: signs that the file was compressed, resized, screen-captured or edited.

None of these say "AI" or "camera". They say the pixels are no longer what the camera or the
generator produced, which is the classic cause of false alarms for pixel detectors: the panel
shows them as "the file has been processed; pixel evidence is weaker".

Checks (all from headers and metadata; pixels are never decoded):
- JPEG quality estimated from the quantization tables (`quantization.py`), and whether the tables
  are libjpeg's standard ones or custom (cameras, editors).
- Camera EXIF in a file with libjpeg's standard tables, or progressive encoding: re-saved after
  capture, probably.
- EXIF pixel dimensions that differ from the file's: resized or cropped after capture.
- Screen-sized dimensions or a "Screenshot" comment: probably a screenshot.
- An editor's name in a software field (`editing_software`), and no metadata at all (`no_metadata`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import exif as t
from . import limits
from .camera import has_camera_exif
from .findings import Finding
from .generators import software_fields
from .quantization import estimate_quality
from .vocab import editor_name

if TYPE_CHECKING:
    from .sources import Sources

# Common screen resolutions (desktops, laptops, phones), as (long side, short side).
SCREEN_SIZES = frozenset(
    (max(w, h), min(w, h))
    for w, h in (
        (1280, 720), (1280, 800), (1366, 768), (1440, 900), (1536, 864), (1600, 900),
        (1680, 1050), (1920, 1080), (1920, 1200), (2560, 1080), (2560, 1440), (2560, 1600),
        (2880, 1800), (2880, 1864), (3024, 1964), (3440, 1440), (3456, 2234), (3840, 2160),
        (5120, 2880), (750, 1334), (828, 1792), (1080, 1920), (1080, 2340), (1080, 2400),
        (1080, 2412), (1125, 2436), (1170, 2532), (1179, 2556), (1206, 2622), (1242, 2688),
        (1284, 2778), (1290, 2796), (1320, 2868), (1440, 3088), (1440, 3200), (2048, 2732),
        (1668, 2388), (1640, 2360), (1620, 2160),
    )
)  # fmt: skip


def reencoding_findings(src: Sources) -> list[Finding]:
    out: list[Finding] = []
    out += _jpeg_findings(src)
    f = _resized(src)
    if f:
        out.append(f)
    f = _screenshot(src)
    if f:
        out.append(f)
    return out


def _processed(check: str, strength: str, title: str, meaning: str, **details: Any) -> Finding:
    return Finding(
        kind="reencoding",
        strength=strength,  # type: ignore[arg-type]
        points_to="processed",
        title=title,
        meaning=meaning,
        details={"check": check, **details},
    )


def _jpeg_findings(src: Sources) -> list[Finding]:
    jpeg = src.container.jpeg
    if jpeg is None or not jpeg.quant_tables:
        return []
    est = estimate_quality(jpeg.quant_tables)
    if est is None:
        return []
    out: list[Finding] = []
    q = est.quality
    about = "" if est.standard else "about "
    details = {
        "quality": q,
        "standard_tables": est.standard,
        "mean_table_error": est.mean_abs_error,
        "tables": est.tables,
        "progressive": jpeg.progressive,
    }
    if q >= 90:
        out.append(
            Finding(
                kind="reencoding",
                strength="info",
                points_to="none",
                title=f"JPEG quality {about}{q}",
                meaning=(
                    f"Saved as JPEG at {about}quality {q}: light compression, fine detail is "
                    "mostly intact."
                ),
                details={"check": "jpeg_quality", **details},
            )
        )
    elif q >= 75:
        out.append(
            _processed(
                "jpeg_quality",
                "weak",
                f"JPEG quality {about}{q}",
                f"Saved as JPEG at {about}quality {q}; compression removes fine detail, so "
                "pixel evidence is weaker.",
                **details,
            )
        )
    else:
        out.append(
            _processed(
                "jpeg_quality",
                "moderate",
                f"Heavy JPEG compression (quality {about}{q})",
                f"Saved as JPEG at {about}quality {q}, typical of re-shared images: the fine "
                "traces detectors look at are largely gone, so pixel evidence is weaker.",
                **details,
            )
        )
    camera = has_camera_exif(src)
    if not est.standard:
        if camera:
            out.append(
                Finding(
                    kind="reencoding",
                    strength="info",
                    points_to="none",
                    title="Custom JPEG tables",
                    meaning=(
                        "The JPEG tables are not libjpeg's standard ones, as is usual for a "
                        "camera's own encoder (and for some editors)."
                    ),
                    details={"check": "custom_tables", **details},
                )
            )
        else:
            out.append(
                _processed(
                    "custom_tables",
                    "weak",
                    "Custom JPEG tables",
                    "The JPEG tables are not libjpeg's standard ones: the file was written by "
                    "software with tables of its own, such as an editor or a platform's encoder.",
                    **details,
                )
            )
    elif camera:
        out.append(
            _processed(
                "standard_tables_with_camera_exif",
                "weak",
                "Camera file with generic JPEG tables",
                "The EXIF names a camera, but the JPEG tables are libjpeg's standard ones that "
                "generic software writes: probably re-saved after capture (a few phones use "
                "them too).",
                **details,
            )
        )
    if jpeg.progressive and camera:
        out.append(
            _processed(
                "progressive_with_camera_exif",
                "weak",
                "Progressive JPEG with camera data",
                "Cameras write baseline JPEGs; progressive encoding suggests the file was re-saved "
                "by software or a website after capture.",
                progressive=True,
            )
        )
    return out


def _resized(src: Sources) -> Finding | None:
    c, e = src.container, src.exif
    px, py = e.number(t.PIXEL_X), e.number(t.PIXEL_Y)
    if not (px and py and c.width and c.height):
        return None
    recorded = (int(px), int(py))
    actual = (c.width, c.height)
    if sorted(recorded) == sorted(actual):  # equal, or rotated by EXIF orientation
        return None
    return _processed(
        "resized_after_capture",
        "moderate",
        "Resized or cropped since capture",
        f"EXIF records {recorded[0]}×{recorded[1]} pixels but the file is "
        f"{actual[0]}×{actual[1]}: it was resized or cropped after the EXIF was written.",
        exif_size=list(recorded),
        file_size=list(actual),
    )


def _screenshot(src: Sources) -> Finding | None:
    c = src.container
    comment = t.decode_user_comment(src.exif.values.get(t.USER_COMMENT)) or ""
    if comment.strip().lower() == "screenshot":
        return _processed(
            "screenshot",
            "moderate",
            "Marked as a screenshot",
            "The EXIF comment says 'Screenshot' (as macOS writes): the image was captured from "
            "a screen, which re-renders it and weakens pixel evidence.",
            where="EXIF UserComment",
        )
    if not (c.width and c.height) or has_camera_exif(src):
        return None
    size = (max(c.width, c.height), min(c.width, c.height))
    if size not in SCREEN_SIZES:
        return None
    details: dict[str, Any] = {"size": [c.width, c.height]}
    if c.file_format == "png":
        details["png_chunks"] = c.chunk_types[:20]
    return _processed(
        "screenshot_like_size",
        "weak",
        f"Screen-sized image ({c.width}×{c.height})",
        "The size matches a common screen, so this may be a screenshot, which re-renders the "
        "image and weakens pixel evidence; video frames and some generators use it too.",
        **details,
    )


def editing_findings(src: Sources) -> list[Finding]:
    names: list[str] = []
    wheres: list[str] = []
    values: list[str] = []
    for where, value in software_fields(src):
        name = editor_name(value)
        if name and name not in names:
            names.append(name)
            wheres.append(where)
            values.append(limits.clean_text(value, 120))
    if not names:
        return []
    listed = ", ".join(names[:4])
    return [
        Finding(
            kind="editing_software",
            strength="weak",
            points_to="processed",
            title=f"Saved by an editor: {listed}",
            meaning=(
                f"The {wheres[0]} field names {listed}. Editing is not faking, but the pixels are "
                "no longer what the camera or generator produced."
            ),
            details={"editors": names[:8], "where": wheres[:8], "values": values[:8]},
        )
    ]


def no_metadata_findings(src: Sources) -> list[Finding]:
    c = src.container
    if c.has_origin_metadata or c.file_format == "unknown":
        return []
    profile = " (only a colour profile)" if c.icc or c.srgb else ""
    return [
        Finding(
            kind="no_metadata",
            strength="info",
            points_to="none",
            title=f"No metadata{profile}",
            meaning=(
                "The file carries no camera data, generator settings or credentials. Sites and "
                "messengers strip metadata on upload, so this proves nothing either way."
            ),
            details={"icc_profile": c.icc, "srgb": c.srgb, "file_format": c.file_format},
        )
    ]
