"""Generator fingerprints: settings chunks written by image generators, and generator names."""

from __future__ import annotations

import json

import pytest

from explain.provenance import read_provenance
from tests.factories import provenance_samples as s


def generator_finding(data: bytes):
    prov = read_provenance(data)
    found = prov.of_kind("generator_metadata")
    assert len(found) == 1, prov.findings
    return found[0]


def test_stable_diffusion_webui_parameters_in_png():
    f = generator_finding(s.png_bytes(text={"parameters": s.A1111_PARAMETERS}))
    assert (f.strength, f.points_to) == ("strong", "ai")
    d = f.details
    assert d["tool"] == "Stable Diffusion WebUI"
    assert d["where"] == "PNG text 'parameters'"
    assert (d["steps"], d["sampler"], d["cfg_scale"], d["seed"]) == ("28", "DPM++ 2M Karras", "7", "1234567890")
    assert (d["size"], d["model"], d["model_hash"], d["version"]) == (
        "512x512",
        "v1-5-pruned-emaonly",
        "6ce0161689",
        "v1.10.1",
    )
    assert d["prompt_excerpt"].startswith("a photo of an astronaut")
    assert "Negative prompt" not in d["prompt_excerpt"]
    assert d["negative_prompt_present"] is True


def test_parameters_as_itxt_and_forge_version():
    text = s.A1111_PARAMETERS.replace("Version: v1.10.1", "Version: f2.0.1v1.10.1") + " ☃"
    f = generator_finding(s.png_bytes(itxt={"parameters": text}))
    assert f.details["tool"] == "Stable Diffusion WebUI Forge"


def test_webui_parameters_in_jpeg_user_comment():
    exif = s.software_exif("", user_comment=s.user_comment_unicode(s.A1111_PARAMETERS))
    f = generator_finding(s.jpeg_bytes(exif=exif))
    assert f.details["where"] == "EXIF UserComment"
    assert f.details["seed"] == "1234567890"


def test_long_prompt_is_cut_to_an_excerpt():
    text = "word " * 5000 + "\nSteps: 20, Sampler: Euler, Seed: 1"
    f = generator_finding(s.png_bytes(text={"parameters": text}))
    assert len(f.details["prompt_excerpt"]) <= 300
    assert len(json.dumps(f.to_json())) < 2000


def test_comfyui_prompt_and_workflow():
    f = generator_finding(s.png_bytes(text=s.comfyui_chunks(seed=77)))
    d = f.details
    assert d["tool"] == "ComfyUI"
    assert "KSampler" in d["node_types"] and "CheckpointLoaderSimple" in d["node_types"]
    assert d["models"] == ["sd_xl_base_1.0.safetensors"]
    assert d["seeds"] == [77] and d["steps"] == [20]
    assert d["nodes"] == 5 and d["workflow_nodes"] == 5


def test_comfyui_workflow_alone_counts():
    chunks = s.comfyui_chunks()
    f = generator_finding(s.png_bytes(text={"workflow": chunks["workflow"]}))
    assert f.details["tool"] == "ComfyUI"


def test_a_plain_prompt_text_is_not_taken_for_comfyui():
    prov = read_provenance(s.png_bytes(text={"prompt": "just some words"}))
    assert prov.of_kind("generator_metadata") == ()


def test_deeply_nested_comfyui_json_is_refused_quietly():
    deep = "[" * 50_000 + "]" * 50_000
    f = generator_finding(s.png_bytes(text={"prompt": deep, "workflow": deep}))
    assert f.details["note"].startswith("ComfyUI-style chunks present")


def test_novelai():
    comment = json.dumps({"steps": 28, "sampler": "k_euler_ancestral", "seed": 99, "scale": 5, "uc": "lowres"})
    text = {
        "Software": "NovelAI",
        "Source": "NovelAI Diffusion V3 4BDE2A90",
        "Description": "1girl, reading a book",
        "Comment": comment,
    }
    d = generator_finding(s.png_bytes(text=text)).details
    assert d["tool"] == "NovelAI"
    assert (d["steps"], d["sampler"], d["seed"]) == (28, "k_euler_ancestral", 99)
    assert d["negative_prompt_present"] is True
    assert d["prompt_excerpt"] == "1girl, reading a book"


def test_invokeai_metadata():
    meta = {"positive_prompt": "a red fox", "seed": 5, "steps": 30, "model": {"name": "juggernaut"}}
    d = generator_finding(s.png_bytes(text={"invokeai_metadata": json.dumps(meta)})).details
    assert d["tool"] == "InvokeAI"
    assert d["model"] == "juggernaut" and d["seed"] == 5
    assert d["positive_prompt_excerpt"] == "a red fox"


def test_midjourney_job_id():
    text = {"Description": "a lighthouse at dawn --ar 16:9 --v 6 Job ID: 0a1b2c3d-1234-4abc-9def-001122334455"}
    d = generator_finding(s.png_bytes(text=text)).details
    assert d["tool"] == "Midjourney"
    assert d["prompt_excerpt"].startswith("a lighthouse at dawn")


def test_swarmui_json_parameters():
    params = json.dumps({"sui_image_params": {"prompt": "a boat", "seed": 3, "model": "flux1-dev"}})
    d = generator_finding(s.png_bytes(text={"parameters": params})).details
    assert d["tool"] == "SwarmUI" and d["seed"] == 3 and d["model"] == "flux1-dev"


@pytest.mark.parametrize(
    ("where", "build"),
    [
        ("EXIF Software", lambda: s.jpeg_bytes(exif=s.software_exif("Midjourney v6"))),
        ("PNG text 'Software'", lambda: s.png_bytes(text={"Software": "Adobe Firefly"})),
        ("XMP CreatorTool", lambda: s.jpeg_bytes(xmp=s.xmp_packet({"xmp:CreatorTool": "DALL·E 3"}))),
    ],
)
def test_generator_named_in_a_software_field(where, build):
    f = generator_finding(build())
    assert (f.strength, f.points_to) == ("moderate", "ai")
    assert f.details["where"] == where


@pytest.mark.parametrize("software", ["Adobe Photoshop 25.0", "GIMP 2.10", "Ver.1.00", "Influx Pro", "HDR+ 1.0"])
def test_ordinary_software_is_not_a_generator(software):
    prov = read_provenance(s.jpeg_bytes(exif=s.software_exif(software)))
    assert prov.of_kind("generator_metadata") == ()


def test_unrelated_text_chunks_are_ignored():
    prov = read_provenance(s.png_bytes(text={"Title": "Holiday", "Author": "me", "parameters": "none"}))
    assert prov.of_kind("generator_metadata") == ()


def test_comfyui_webp_graphs_in_exif_make_and_model_are_comfyui_not_a_camera():
    # Issue 17, finding 1: ComfyUI writes "workflow:{...}" into Make and "prompt:{...}" into Model.
    prov = read_provenance(s.webp_bytes(exif=s.comfyui_webp_exif(seed=777)))
    assert prov.of_kind("camera") == ()
    [f] = prov.of_kind("generator_metadata")
    assert f.details["tool"] == "ComfyUI" and "EXIF" in f.details["where"]
    assert f.details["seeds"] == [777] and f.details["workflow_nodes"] == 5
    assert "CheckpointLoaderSimple" in f.details["node_types"]
    assert (f.strength, f.points_to) == ("strong", "ai")
