"""English texts of the clue glossary: pure data, one part of the English catalog (`en.EN`).

Keys: `gl_group_<group>` for the two groups, and `gl_<clue>_title`, `gl_<clue>_look_for`,
`gl_<clue>_why` for every clue of `explain.glossary.CLUES`. The provenance kinds' title and why
are `explain.provenance.GLOSSARY`'s own English, read from there (their Chinese is in
zh_cn_glossary.py); only their "look for" (where the app shows them) is written here.
"""

from __future__ import annotations

from explain.provenance import GLOSSARY as _PROVENANCE

GLOSSARY_EN: dict[str, str] = {
    "gl_group_pixels": "Clues in the picture",
    "gl_group_file": "Clues in the file's data",
    # clues in the picture
    "gl_over_smooth_title": "Over-smooth skin and surfaces",
    "gl_over_smooth_look_for": "Skin without pores, fine hairs or wrinkles; surfaces that look waxy, plastic or "
    "airbrushed; a patch where the grain of the rest of the photo is missing.",
    "gl_over_smooth_why": "Diffusion models remove noise step by step and settle on the clean, average version "
    "of a texture. Fine random detail, such as pores and the grain of a camera sensor, is exactly what gets "
    "averaged away.",
    "gl_lighting_title": "Inconsistent lighting and shadows",
    "gl_lighting_look_for": "Shadows pointing different ways; a face lit from a side where there is no lamp or "
    "window; catch-lights in the two eyes that do not match; missing or floating shadows; reflections that show "
    "something else than the scene.",
    "gl_lighting_why": "A generator paints each region so that it looks plausible on its own. It has no "
    "physical model of where the lights are, so nothing forces the whole scene to agree about them.",
    "gl_warped_text_title": "Warped or garbled text",
    "gl_warped_text_look_for": "Letters that melt into each other, invented characters, words that almost make "
    "sense, signs and labels that cannot be read up close.",
    "gl_warped_text_why": "Image generators learn what writing looks like, not how to spell. Letters are small, "
    "exact shapes, and the coarse internal picture a generator works on cannot keep them exact.",
    "gl_checkerboard_title": "Checkerboard pattern from upsampling",
    "gl_checkerboard_look_for": "Zoom in on flat areas such as sky or walls: a faint, regular grid of "
    "alternating lighter and darker dots.",
    "gl_checkerboard_why": "Generators build a large image from a small one with upsampling layers (transposed "
    "convolutions). Where their steps overlap unevenly they print a regular checkerboard into the picture, a "
    "trace that cameras do not leave.",
    "gl_repeated_texture_title": "Repeated textures",
    "gl_repeated_texture_look_for": "The same leaf, brick, cloud or face appearing twice; a pattern that tiles "
    "too perfectly; crowds of near-identical objects.",
    "gl_repeated_texture_why": "The model reuses what it learned for similar regions and keeps no memory of "
    "having already drawn that exact thing elsewhere in the picture.",
    "gl_banding_title": "Colour banding",
    "gl_banding_look_for": "Smooth gradients (sky, skin, walls) that break into visible stripes or steps of "
    "colour.",
    "gl_banding_why": "When colours are rounded to a few levels, by a generator's decoder, a low bit depth or "
    "heavy saving, a continuous gradient turns into flat steps.",
    "gl_blocking_title": "Blocky compression",
    "gl_blocking_look_for": "Small squares (8 by 8 pixels) along edges and in smooth areas; flat blocks of one "
    "colour.",
    "gl_blocking_why": "JPEG and video codecs cut the picture into 8x8 blocks; strong compression makes their "
    "borders visible. Real photos that were saved many times show it too, so on its own it is weak evidence; "
    "generators trained on such pictures can imitate it.",
    "gl_speckle_title": "Coloured speckle noise",
    "gl_speckle_look_for": "Isolated bright or strongly coloured dots that do not belong to the scene, like "
    "salt and pepper on an otherwise clean area.",
    "gl_speckle_why": "A generator's last decoding step can leave stray, saturated pixels where the denoising "
    "did not settle. Camera noise is different: fine, even and spread over the whole picture.",
    "gl_anatomy_title": "Hands, eyes and anatomy",
    "gl_anatomy_look_for": "Extra, missing or fused fingers; eyes with different pupils; teeth that merge; "
    "ears, earrings or glasses that do not match; limbs that bend the wrong way.",
    "gl_anatomy_why": "Bodies have a strict structure with many similar parts. A generator assembles them from "
    "statistics without counting, so the number and shape of small parts drift.",
    "gl_geometry_title": "Impossible geometry and perspective",
    "gl_geometry_look_for": "Lines that should be straight bending; windows and tiles that do not line up; "
    "objects merging into each other; a perspective that does not add up.",
    "gl_geometry_why": "The model has no three-dimensional model of the scene, only the look of many flat "
    "pictures, so the parts of a building or a room need not fit together.",
    "gl_blur_title": "Smeared background and blur",
    "gl_blur_look_for": "Blur that does not follow distance; details in the background smeared into mush; "
    "objects dissolving at their borders.",
    "gl_blur_why": "Generators spend their detail on the subject and fill the rest with vague, average texture. "
    "A camera's blur grows smoothly with distance from the focus.",
    "gl_edges_title": "Halos and unnatural edges",
    "gl_edges_look_for": "Bright outlines around a person; hair that melts into the background; edges that look "
    "cut out and pasted.",
    "gl_edges_why": "When a generated region is blended into another picture (inpainting, face swaps), the seam "
    "between the two is where the statistics change.",
    "gl_colour_title": "Unnatural colours",
    "gl_colour_look_for": "Oversaturated, candy-like colours; skin tones that are too even; things that seem to "
    "glow.",
    "gl_colour_why": "Generators are tuned towards attractive, high-contrast pictures, and they do not inherit "
    "the colour limits of a real lens and sensor.",
    "gl_grain_title": "Camera grain and noise",
    "gl_grain_look_for": "Fine, even noise over the whole picture, dark areas included, with the same look "
    "everywhere. Its presence is a sign of a real camera; its absence in one place is a clue.",
    "gl_grain_why": "A camera sensor adds random noise to every pixel. Generators rarely reproduce it evenly: "
    "they leave it out, or paint it in patches.",
    # clues in the file's data: where the app shows them
    "gl_c2pa_look_for": "The evidence panel: a 'Content Credentials' line with the signer and what the record "
    "claims.",
    "gl_xmp_source_type_look_for": "The evidence panel: a digital source type such as 'trainedAlgorithmicMedia'.",
    "gl_ai_disclosure_look_for": "The evidence panel: an AI label in the credit line or the IPTC AI fields.",
    "gl_generator_metadata_look_for": "The evidence panel: generator settings such as a prompt, sampler, steps "
    "or seed.",
    "gl_camera_look_for": "The evidence panel: camera make, model, lens and capture time.",
    "gl_editing_software_look_for": "The evidence panel: the name of an editor that saved the file.",
    "gl_reencoding_look_for": "The evidence panel: JPEG quality, a resized or screen-sized picture.",
    "gl_no_metadata_look_for": "The evidence panel says there is nothing to report in the file's data.",
}
# the meaning of each kind of file evidence, as explain.provenance words it
GLOSSARY_EN.update({f"gl_{kind}_{field}": about[source] for kind, about in _PROVENANCE.items()
                    for field, source in (("title", "title"), ("why", "text"))})
