"""Generator fingerprints: the settings image generators leave in the files they write.

- Stable Diffusion WebUI (A1111, Forge, SD.Next): PNG text `parameters` (or EXIF UserComment in
  JPEG/WebP) ending in a line like "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, ...".
- ComfyUI: PNG text `prompt` (the executed node graph, JSON) and `workflow` (the editor graph);
  in WebP, the same as "prompt:{...}" in EXIF Model and "workflow:{...}" in EXIF Make.
- NovelAI: `Software: NovelAI`, `Source`, and a JSON `Comment` with the sampling settings.
- InvokeAI: `invokeai_metadata` / `invokeai_graph` (JSON), older `sd-metadata` and `Dream`.
- Fooocus, SwarmUI: JSON in `parameters`. Midjourney: `Description` with a "Job ID".
- A known generator named in a Software / CreatorTool / history field (EXIF, PNG, XMP, IPTC).

Settings are parsed with size caps; prompts are kept as short excerpts only.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from . import exif as exif_tags
from . import limits
from .findings import Finding
from .vocab import generator_name

if TYPE_CHECKING:
    from .sources import Sources

_A1111_KV = re.compile(r"\s*([\w][\w .()/-]{0,40}?):\s*(\"(?:[^\"\\]|\\.)*\"|[^,]*)(?:,|$)")
_A1111_MARKERS = ("Steps:", "Sampler:", "Seed:", "CFG scale:")
_MJ_JOB = re.compile(r"\bJob ID:\s*[0-9a-f]{8}-[0-9a-f]{4}-", re.IGNORECASE)


def generator_findings(src: Sources) -> list[Finding]:
    out: list[Finding] = []
    c = src.container
    params = c.text_value("parameters")
    if params is None:
        comment = exif_tags.decode_user_comment(src.exif.values.get(exif_tags.USER_COMMENT))
        if comment and sum(m in comment for m in _A1111_MARKERS) >= 2:
            params = comment
            where = "EXIF UserComment"
        else:
            where = ""
    else:
        where = "PNG text 'parameters'"
    if params is not None:
        f = _parameters_finding(params, where)
        if f:
            out.append(f)
    for f in (_comfyui(src), _novelai(src), _invokeai(src), _midjourney(src)):
        if f:
            out.append(f)
    if not out:  # a software name is weaker evidence than settings: only when nothing else
        f = _software_name(src)
        if f:
            out.append(f)
    return out


def _settings_finding(tool: str, where: str, details: dict[str, Any]) -> Finding:
    return Finding(
        kind="generator_metadata",
        strength="strong",
        points_to="ai",
        title=f"Generator settings found: {tool}",
        meaning=(
            f"The file carries {tool} generation settings ({where}). Such blocks are written by "
            "the generator itself and are rarely faked, though anyone could copy them into a file."
        ),
        details={"tool": tool, "where": where, **details},
    )


def _parameters_finding(text: str, where: str) -> Finding | None:
    stripped = text.lstrip()
    if stripped.startswith("{"):
        data = _load_json(stripped)
        if isinstance(data, dict):
            return _json_parameters(data, where)
        return None
    if sum(m in text for m in _A1111_MARKERS) < 2:
        return None
    lines = text.strip().splitlines()
    at = next((i for i in range(len(lines) - 1, -1, -1) if "Steps:" in lines[i]), len(lines))
    settings: dict[str, str] = {}
    for m in _A1111_KV.finditer(lines[at][:4000] if at < len(lines) else ""):
        key, value = m.group(1).strip(), m.group(2).strip().strip('"')
        if key and len(settings) < 40:
            settings[key] = value
    negative_at = next(
        (i for i, ln in enumerate(lines[:at]) if ln.startswith("Negative prompt:")), at
    )
    negative = negative_at < at
    prompt = "\n".join(lines[:negative_at])
    version = settings.get("Version", "")
    tool = "Stable Diffusion WebUI"
    if version.startswith("f") and version[1:2].isdigit():
        tool = "Stable Diffusion WebUI Forge"
    details: dict[str, Any] = {
        "prompt_excerpt": limits.clean_text(prompt, limits.MAX_EXCERPT_CHARS),
        "negative_prompt_present": negative,
    }
    for key, name in (
        ("Steps", "steps"),
        ("Sampler", "sampler"),
        ("CFG scale", "cfg_scale"),
        ("Seed", "seed"),
        ("Size", "size"),
        ("Model", "model"),
        ("Model hash", "model_hash"),
        ("Version", "version"),
    ):
        if key in settings:
            details[name] = limits.clean_text(settings[key], 120)
    return _settings_finding(tool, where, details)


def _json_parameters(data: dict[str, Any], where: str) -> Finding | None:
    if "sui_image_params" in data:
        p = data.get("sui_image_params")
        p = p if isinstance(p, dict) else {}
        return _settings_finding("SwarmUI", where, _pick(p, ("prompt", "model", "seed", "steps")))
    keys = {str(k).lower() for k in data}
    version = str(data.get("version", data.get("Version", "")))
    if "fooocus" in version.lower() or "fooocus v2 expansion" in keys:
        return _settings_finding("Fooocus", where, _pick(data, ("Prompt", "Base Model", "Seed")))
    if {"prompt", "seed"} <= keys or {"prompt", "steps"} <= keys:
        return _settings_finding("an image generator", where, _pick(data, ("prompt", "seed")))
    return None


def _pick(d: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k in keys:
        v = d.get(k)
        if v is None:
            continue
        name = k.lower().replace(" ", "_")
        if "prompt" in name:
            out[name + "_excerpt"] = limits.clean_text(str(v), limits.MAX_EXCERPT_CHARS)
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out[name] = v
        else:
            out[name] = limits.clean_text(str(v), 120)
    return out


def _load_json(text: str) -> Any:
    if len(text) > limits.MAX_JSON_TEXT:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        return None


def _comfyui_exif(src: Sources) -> dict[str, str]:
    """ComfyUI's 'key:{json}' values in EXIF (WebP and animated outputs), by key."""
    out: dict[str, str] = {}
    for tag in range(exif_tags.MODEL, exif_tags.MODEL - 8, -1):  # 0x0110 down, as ComfyUI counts
        found = exif_tags.keyed_json(src.exif.text(tag))
        if found and found[0] not in out:
            out[found[0]] = found[1]
    return out


def _comfyui(src: Sources) -> Finding | None:
    c = src.container
    prompt, workflow = c.text_value("prompt"), c.text_value("workflow")
    where = "PNG text 'prompt'/'workflow'"
    if prompt is None and workflow is None:
        keyed = _comfyui_exif(src)
        prompt, workflow = keyed.get("prompt"), keyed.get("workflow")
        where = "EXIF Make/Model 'workflow:'/'prompt:'"
    if prompt is None and workflow is None:
        return None
    details: dict[str, Any] = {}
    graph = _load_json(prompt) if prompt else None
    recognised = False
    if isinstance(graph, dict):
        classes: list[str] = []
        models: list[str] = []
        seeds: list[Any] = []
        steps: list[Any] = []
        for node in list(graph.values())[:2000]:
            if not isinstance(node, dict) or "class_type" not in node:
                continue
            recognised = True
            cls = limits.clean_text(str(node["class_type"]), 80)
            if cls not in classes and len(classes) < 40:
                classes.append(cls)
            inputs = node.get("inputs") if isinstance(node.get("inputs"), dict) else {}
            for key in ("ckpt_name", "unet_name", "model_name", "lora_name"):
                v = inputs.get(key)
                if isinstance(v, str) and len(models) < 10 and v not in models:
                    models.append(limits.clean_text(v, 120))
            for key, bucket in (("seed", seeds), ("noise_seed", seeds), ("steps", steps)):
                v = inputs.get(key)
                if isinstance(v, (int, float)) and not isinstance(v, bool) and len(bucket) < 5:
                    bucket.append(v)
        details.update(node_types=classes, models=models, seeds=seeds, steps=steps)
        details["nodes"] = sum(1 for n in graph.values() if isinstance(n, dict))
    flow = _load_json(workflow) if workflow else None
    if isinstance(flow, dict) and isinstance(flow.get("nodes"), list):
        recognised = True
        details["workflow_nodes"] = len(flow["nodes"])
    if not recognised:
        if prompt is not None and workflow is None:
            return None  # a plain "prompt" text chunk is not ComfyUI's graph; other tools use it
        details["note"] = "ComfyUI-style chunks present but not readable as a graph"
    return _settings_finding("ComfyUI", where, details)


def _novelai(src: Sources) -> Finding | None:
    c = src.container
    software = c.text_value("Software") or ""
    source = c.text_value("Source") or ""
    if "novelai" not in software.lower() and "novelai" not in source.lower():
        return None
    details: dict[str, Any] = {"source": limits.clean_text(source, 120)}
    comment = _load_json(c.text_value("Comment") or "")
    if isinstance(comment, dict):
        details.update(_pick(comment, ("steps", "sampler", "seed", "scale")))
        details["negative_prompt_present"] = bool(comment.get("uc"))
    description = c.text_value("Description")
    if description:
        details["prompt_excerpt"] = limits.clean_text(description, limits.MAX_EXCERPT_CHARS)
    return _settings_finding("NovelAI", "PNG text 'Software'/'Comment'", details)


def _invokeai(src: Sources) -> Finding | None:
    c = src.container
    for key in ("invokeai_metadata", "invokeai_graph", "sd-metadata", "Dream"):
        text = c.text_value(key)
        if text is None:
            continue
        data = _load_json(text) if key != "Dream" else None
        details: dict[str, Any] = {"chunk": key}
        if isinstance(data, dict):
            model = data.get("model")
            if isinstance(model, dict):
                model = model.get("name") or model.get("model_name")
            if model:
                details["model"] = limits.clean_text(str(model), 120)
            details.update(_pick(data, ("positive_prompt", "seed", "steps", "scheduler")))
        elif key == "Dream":
            details["prompt_excerpt"] = limits.clean_text(text, limits.MAX_EXCERPT_CHARS)
        return _settings_finding("InvokeAI", f"PNG text {key!r}", details)
    return None


def _midjourney(src: Sources) -> Finding | None:
    for key in ("Description", "Comment"):
        text = src.container.text_value(key) or ""
        if _MJ_JOB.search(text[:20000]):
            excerpt = _MJ_JOB.split(text[:20000])[0]
            details = {"prompt_excerpt": limits.clean_text(excerpt, limits.MAX_EXCERPT_CHARS)}
            return _settings_finding("Midjourney", f"PNG text {key!r} with a job ID", details)
    return None


def software_fields(src: Sources) -> list[tuple[str, str]]:
    """Every field in which a tool may have written its name, as (where, value)."""
    c, x = src.container, src.xmp
    fields: list[tuple[str, str]] = []
    software = src.exif.text(exif_tags.SOFTWARE)
    if software:
        fields.append(("EXIF Software", software))
    for key in ("Software", "Source", "Generator"):
        v = c.text_value(key)
        if v:
            fields.append((f"PNG text {key!r}", v))
    fields += [("XMP CreatorTool", v) for v in x.all("xmp:CreatorTool")]
    fields += [("XMP history", v) for v in x.all("stEvt:softwareAgent")]
    fields += [("XMP tiff:Software", v) for v in x.all("tiff:Software")]
    fields += [("IPTC-IIM program", v) for v in c.iptc.get((2, 65), [])]
    return fields


def _software_name(src: Sources) -> Finding | None:
    for where, value in software_fields(src):
        name = generator_name(value)
        if name:
            return Finding(
                kind="generator_metadata",
                strength="moderate",
                points_to="ai",
                title=f"Made with {name}, says the {where} field",
                meaning=(
                    f"The {where} field names {name}, an image generator. Software fields are "
                    "unsigned and easy to change; the generator may also have been used only to "
                    "edit a real photo."
                ),
                details={"tool": name, "where": where, "value": limits.clean_text(value, 200)},
            )
    return None
