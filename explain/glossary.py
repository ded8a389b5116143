"""The clue glossary: every kind of evidence an explanation can mention, in plain words.

Three sources, one table:
- artifacts FakeVLM-style answers name (over-smooth skin, inconsistent lighting, warped text,
  checkerboard upsampling, repeated textures, colour banding, blocky compression, ...);
- the toy model's five artifact kinds (explain/toy/texts.py), mapped onto those entries
  (`TOY_KIND_CLUES`) plus its own "speckle";
- the provenance evidence kinds (explain/provenance: C2PA, EXIF, generator settings, ...), whose
  English text is taken from `explain.provenance.GLOSSARY` as it is.

Each entry says what to look for and why generators (or files) show it. `clues_in(text)` finds
the entries a piece of text mentions, by keyword patterns, so phrase chips in the UI can link to
them; `clue_spans(text)` gives the matched character spans for in-text links.

Translations: `entry(key, lang)` returns an entry's text in a language of `TRANSLATIONS`
(English when the language or the entry is missing). To add a language, add a table with the
same keys to `TRANSLATIONS`; tests/demo/classroom/test_glossary.py checks it is complete.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from explain.provenance import GLOSSARY as PROVENANCE_GLOSSARY

Group = Literal["pixels", "file"]


@dataclass(frozen=True)
class Clue:
    """One glossary entry. `patterns` are case-insensitive regular expressions."""

    key: str
    group: Group  # "pixels": seen in the picture; "file": read from the file's data
    title: str
    look_for: str
    why: str
    patterns: tuple[str, ...]


@dataclass(frozen=True)
class ClueText:
    """An entry's text in one language."""

    key: str
    title: str
    look_for: str
    why: str
    lang: str


_PIXEL_CLUES: tuple[Clue, ...] = (
    Clue(
        "over_smooth", "pixels", "Over-smooth skin and surfaces",
        "Skin without pores, fine hairs or wrinkles; surfaces that look waxy, plastic or airbrushed; "
        "a patch where the grain of the rest of the photo is missing.",
        "Diffusion models remove noise step by step and settle on the clean, average version of a "
        "texture. Fine random detail, such as pores and the grain of a camera sensor, is exactly what "
        "gets averaged away.",
        (r"\bsmooth", r"\bwaxy\b", r"\bplastic(?:ky|-like)?\b", r"\bairbrush", r"\bporcelain\b",
         r"\blacks? (?:the )?(?:natural )?(?:skin )?(?:texture|pores)\b"),
    ),
    Clue(
        "lighting", "pixels", "Inconsistent lighting and shadows",
        "Shadows pointing different ways; a face lit from a side where there is no lamp or window; "
        "catch-lights in the two eyes that do not match; missing or floating shadows; reflections "
        "that show something else than the scene.",
        "A generator paints each region so that it looks plausible on its own. It has no physical "
        "model of where the lights are, so nothing forces the whole scene to agree about them.",
        (r"\blight(?:ing|s)?\b", r"\bshadows?\b", r"\billuminat", r"\breflections?\b", r"\bhighlights\b"),
    ),
    Clue(
        "warped_text", "pixels", "Warped or garbled text",
        "Letters that melt into each other, invented characters, words that almost make sense, signs "
        "and labels that cannot be read up close.",
        "Image generators learn what writing looks like, not how to spell. Letters are small, exact "
        "shapes, and the coarse internal picture a generator works on cannot keep them exact.",
        (r"\btext\b", r"\blettering\b", r"\bletters\b", r"\bwriting\b", r"\binscriptions?\b",
         r"\btypograph", r"\billegible\b", r"\bgibberish\b", r"\bunreadable\b", r"\bgarbled\b"),
    ),
    Clue(
        "checkerboard", "pixels", "Checkerboard pattern from upsampling",
        "Zoom in on flat areas such as sky or walls: a faint, regular grid of alternating lighter and "
        "darker dots.",
        "Generators build a large image from a small one with upsampling layers (transposed "
        "convolutions). Where their steps overlap unevenly they print a regular checkerboard into the "
        "picture, a trace that cameras do not leave.",
        (r"\bchecker", r"\bgrid(?:-like)? pattern", r"\bupsampl"),
    ),
    Clue(
        "repeated_texture", "pixels", "Repeated textures",
        "The same leaf, brick, cloud or face appearing twice; a pattern that tiles too perfectly; "
        "crowds of near-identical objects.",
        "The model reuses what it learned for similar regions and keeps no memory of having already "
        "drawn that exact thing elsewhere in the picture.",
        (r"\brepeat", r"\brepetiti", r"\bduplicat", r"\bcopy[- ]?(?:paste|move)", r"\bclon(?:ed|ing)\b",
         r"\btil(?:ed|ing)\b", r"\bidentical\b"),
    ),
    Clue(
        "banding", "pixels", "Colour banding",
        "Smooth gradients (sky, skin, walls) that break into visible stripes or steps of colour.",
        "When colours are rounded to a few levels, by a generator's decoder, a low bit depth or heavy "
        "saving, a continuous gradient turns into flat steps.",
        (r"\bband(?:ing|s|ed)\b", r"\bposteri[sz]", r"\bhard steps\b", r"\bcolou?r steps\b"),
    ),
    Clue(
        "blocking", "pixels", "Blocky compression",
        "Small squares (8 by 8 pixels) along edges and in smooth areas; flat blocks of one colour.",
        "JPEG and video codecs cut the picture into 8x8 blocks; strong compression makes their borders "
        "visible. Real photos that were saved many times show it too, so on its own it is weak "
        "evidence; generators trained on such pictures can imitate it.",
        (r"\bblock(?:s|y|iness)?\b", r"\bcompression artifacts?\b", r"\bjpeg artifacts?\b", r"\bmacroblock"),
    ),
    Clue(
        "speckle", "pixels", "Coloured speckle noise",
        "Isolated bright or strongly coloured dots that do not belong to the scene, like salt and pepper "
        "on an otherwise clean area.",
        "A generator's last decoding step can leave stray, saturated pixels where the denoising did not "
        "settle. Camera noise is different: fine, even and spread over the whole picture.",
        (r"\bspeckl", r"\bsalt[- ]and[- ]pepper\b", r"\bstray (?:pixels|dots)\b", r"\bcolou?red dots\b"),
    ),
    Clue(
        "anatomy", "pixels", "Hands, eyes and anatomy",
        "Extra, missing or fused fingers; eyes with different pupils; teeth that merge; ears, earrings "
        "or glasses that do not match; limbs that bend the wrong way.",
        "Bodies have a strict structure with many similar parts. A generator assembles them from "
        "statistics without counting, so the number and shape of small parts drift.",
        (r"\bfingers?\b", r"\bhands?\b", r"\blimbs?\b", r"\banatom", r"\bteeth\b", r"\bpupils?\b",
         r"\beyes\b", r"\bdeformed\b"),
    ),
    Clue(
        "geometry", "pixels", "Impossible geometry and perspective",
        "Lines that should be straight bending; windows and tiles that do not line up; objects merging "
        "into each other; a perspective that does not add up.",
        "The model has no three-dimensional model of the scene, only the look of many flat pictures, "
        "so the parts of a building or a room need not fit together.",
        (r"\bperspective\b", r"\bgeometr", r"\bproportions?\b", r"\bsymmetr", r"\bmisaligned\b",
         r"\bdistort(?:ed|ion|ions)\b"),
    ),
    Clue(
        "blur", "pixels", "Smeared background and blur",
        "Blur that does not follow distance; details in the background smeared into mush; objects "
        "dissolving at their borders.",
        "Generators spend their detail on the subject and fill the rest with vague, average texture. "
        "A camera's blur grows smoothly with distance from the focus.",
        (r"\bblur", r"\bsmear", r"\bsmudg", r"\bbokeh\b", r"\bout of focus\b"),
    ),
    Clue(
        "edges", "pixels", "Halos and unnatural edges",
        "Bright outlines around a person; hair that melts into the background; edges that look cut out "
        "and pasted.",
        "When a generated region is blended into another picture (inpainting, face swaps), the seam "
        "between the two is where the statistics change.",
        (r"\bhalos?\b", r"\bedges?\b", r"\bseams?\b", r"\bcut[- ]out\b", r"\bblend(?:ing|ed)\b", r"\boutlines?\b"),
    ),
    Clue(
        "colour", "pixels", "Unnatural colours",
        "Oversaturated, candy-like colours; skin tones that are too even; things that seem to glow.",
        "Generators are tuned towards attractive, high-contrast pictures, and they do not inherit the "
        "colour limits of a real lens and sensor.",
        (r"\bsaturat", r"\bunnatural colou?r", r"\bcolou?rs? (?:look|looks|appear|seem)s? (?:unnatural|artificial)",
         r"\bvivid\b", r"\bglow"),
    ),
    Clue(
        "grain", "pixels", "Camera grain and noise",
        "Fine, even noise over the whole picture, dark areas included, with the same look everywhere. "
        "Its presence is a sign of a real camera; its absence in one place is a clue.",
        "A camera sensor adds random noise to every pixel. Generators rarely reproduce it evenly: they "
        "leave it out, or paint it in patches.",
        (r"\bgrain", r"\bsensor noise\b", r"(?<!speckle )(?<!generator )\bnoise\b"),
    ),
)

# What a reader of the file's data sees: the provenance kinds, whose English text (the meaning of
# the evidence) is explain.provenance's own; "look for" says where to find it in the app.
_PROVENANCE_LOOK_FOR: dict[str, str] = {
    "c2pa": "The evidence panel: a 'Content Credentials' line with the signer and what the record claims.",
    "xmp_source_type": "The evidence panel: a digital source type such as 'trainedAlgorithmicMedia'.",
    "ai_disclosure": "The evidence panel: an AI label in the credit line or the IPTC AI fields.",
    "generator_metadata": "The evidence panel: generator settings such as a prompt, sampler, steps or seed.",
    "camera": "The evidence panel: camera make, model, lens and capture time.",
    "editing_software": "The evidence panel: the name of an editor that saved the file.",
    "reencoding": "The evidence panel: JPEG quality, a resized or screen-sized picture.",
    "no_metadata": "The evidence panel says there is nothing to report in the file's data.",
}
_PROVENANCE_PATTERNS: dict[str, tuple[str, ...]] = {
    "c2pa": (r"\bc2pa\b", r"\bcontent credentials\b"),
    "xmp_source_type": (r"\bdigital ?source ?type\b", r"\biptc\b", r"\bxmp\b"),
    "ai_disclosure": (r"\bmade with [\w ]{0,20}\bai\b", r"\bai label", r"\bdisclos"),
    "generator_metadata": (r"\bgenerat(?:or|ion) (?:settings|parameters|metadata)\b", r"\bstable diffusion\b",
                           r"\bcomfyui\b", r"\bnovelai\b", r"\binvokeai\b"),
    "camera": (r"\bexif\b", r"\bcamera (?:make|model|data|information)\b"),
    "editing_software": (r"\bphotoshop\b", r"\bgimp\b", r"\bediting software\b"),
    "reencoding": (r"\bre-?encod", r"\bre-?compress", r"\bre-?saved?\b", r"\bscreenshot", r"\bjpeg quality\b"),
    "no_metadata": (r"\bno metadata\b", r"\bmetadata (?:was |is |has been )?(?:stripped|removed|missing)\b"),
}


def _provenance_clues() -> tuple[Clue, ...]:
    out = []
    for kind, entry in PROVENANCE_GLOSSARY.items():
        out.append(Clue(kind, "file", entry["title"], _PROVENANCE_LOOK_FOR.get(kind, ""), entry["text"],
                        _PROVENANCE_PATTERNS.get(kind, ())))
    return tuple(out)


GLOSSARY: dict[str, Clue] = {c.key: c for c in (*_PIXEL_CLUES, *_provenance_clues())}

# The toy model's artifact kinds (explain/toy/texts.py KINDS) -> glossary keys.
TOY_KIND_CLUES: dict[str, str] = {
    "checkerboard": "checkerboard",
    "banding": "banding",
    "smoothing": "over_smooth",
    "blocking": "blocking",
    "speckle": "speckle",
}

# Simplified Chinese. Keys must match GLOSSARY exactly (a test checks); values are
# (title, look for, why).
_ZH_CN: dict[str, tuple[str, str, str]] = {
    "over_smooth": (
        "皮肤和表面过度平滑",
        "皮肤上没有毛孔、细小汗毛或皱纹；表面看起来像蜡、塑料或经过喷枪修饰；某一块区域缺少照片其他部分都有的颗粒感。",
        "扩散模型一步步去除噪声，最后停在纹理最干净、最“平均”的样子。毛孔和相机传感器的颗粒这类细小的随机细节，正是被平均掉的部分。",
    ),
    "lighting": (
        "光照和阴影不一致",
        "阴影朝向不同的方向；脸被并不存在的灯或窗户从侧面照亮；两只眼睛里的反光点不一致；阴影缺失或悬空；倒影里出现场景中没有的东西。",
        "生成器让每个区域单独看起来合理，但它没有关于光源位置的物理模型，所以没有任何东西强迫整个画面的光照保持一致。",
    ),
    "warped_text": (
        "扭曲或错乱的文字",
        "字母相互融化在一起、出现不存在的字符、单词似是而非，招牌和标签凑近看无法辨认。",
        "图像生成器学会的是文字“看起来像什么”，而不是怎么拼写。字母是细小而精确的形状，生成器内部使用的粗糙图像表示无法保持它们的精确。",
    ),
    "checkerboard": (
        "上采样留下的棋盘格纹",
        "放大天空、墙面等平坦区域：能看到一层淡淡的、规则的明暗交替小点网格。",
        "生成器用上采样层（转置卷积）把小图逐步放大成大图。当这些步骤重叠不均匀时，就会在图中印下规则的棋盘格，这是相机不会留下的痕迹。",
    ),
    "repeated_texture": (
        "重复的纹理",
        "同一片叶子、同一块砖、同一朵云或同一张脸出现两次；图案重复得过于完美；一群几乎一模一样的物体。",
        "模型会对相似的区域重复使用学到的东西，却不记得自己已经在画面别处画过完全相同的内容。",
    ),
    "banding": (
        "色带",
        "本应平滑过渡的渐变（天空、皮肤、墙面）断裂成可见的条纹或色阶。",
        "当颜色被取整到很少的几个级别时（生成器的解码器、低位深或反复保存造成），连续的渐变就会变成一级一级的平块。",
    ),
    "blocking": (
        "块状压缩痕迹",
        "边缘和平滑区域出现 8×8 像素的小方块；一块块单一颜色的平面。",
        "JPEG 和视频编码把画面切成 8×8 的小块来压缩，压缩过强时块的边界就会显现。多次保存的真实照片也会有这种痕迹，所以单独看它是较弱的证据；用这类图片训练的生成器也会模仿它。",
    ),
    "speckle": (
        "彩色斑点噪声",
        "孤立的亮点或颜色很鲜艳的小点，与场景无关，像在原本干净的区域撒了椒盐。",
        "生成器最后的解码步骤可能在去噪没有收敛的地方留下零散的高饱和像素。相机噪声则不同：细小、均匀、遍布整张照片。",
    ),
    "anatomy": (
        "手、眼睛和身体结构",
        "手指多了、少了或粘在一起；两只眼睛的瞳孔不同；牙齿连成一片；耳朵、耳环或眼镜左右不对称；四肢弯向错误的方向。",
        "人体结构严格，而且有很多相似的部件。生成器根据统计规律拼装它们，并不会去数，所以细小部件的数量和形状容易出错。",
    ),
    "geometry": (
        "不可能的几何结构和透视",
        "本应笔直的线条弯曲了；窗户和瓷砖对不齐；物体彼此融合；透视关系说不通。",
        "模型没有场景的三维模型，只有大量平面图片的外观，所以建筑或房间的各个部分不一定能拼合在一起。",
    ),
    "blur": (
        "模糊、涂抹的背景",
        "模糊程度与距离无关；背景细节被涂抹成一团；物体的边界逐渐消融。",
        "生成器把细节都用在主体上，其余部分用模糊、平均的纹理填充。相机的虚化则随着离焦点的距离平滑地增加。",
    ),
    "edges": (
        "光晕和不自然的边缘",
        "人物周围有明亮的轮廓；头发融进背景；边缘看起来像剪下来再贴上去的。",
        "把生成的区域融合进另一张图片时（局部重绘、换脸），两者之间的接缝正是统计特征发生变化的地方。",
    ),
    "colour": (
        "不自然的颜色",
        "颜色过度饱和、像糖果一样；肤色过于均匀；物体好像在发光。",
        "生成器被调校得偏向好看、高对比度的图片，而且不受真实镜头和传感器的色彩限制。",
    ),
    "grain": (
        "相机颗粒和噪声",
        "整张照片（包括暗部）都有细小、均匀、处处相同的噪声。有颗粒是真实相机的迹象；某一处没有颗粒则是线索。",
        "相机传感器会给每个像素加上随机噪声。生成器很少能均匀地再现它：要么完全没有，要么只在局部画出来。",
    ),
    "c2pa": (
        "内容凭证（C2PA）",
        "证据面板：一行“内容凭证”，写明签名者以及记录声称的内容。",
        "由拍摄、编辑或生成图片的相机、软件或 AI 服务嵌入文件中的签名记录。签名表明是谁签署了记录、文件此后没有改动；记录再说明图片是怎样产生的（拍摄、编辑、AI 生成）。有效的签名证明的是谁做出了声明，而不是声明为真；在信任列表上找不到的签名者可能是任何人。大多数图片没有这种记录，而且很容易删除：没有它什么也证明不了。",
    ),
    "xmp_source_type": (
        "数字来源类型（IPTC）",
        "证据面板：数字来源类型，例如“trainedAlgorithmicMedia”。",
        "一个标准元数据字段（IPTC DigitalSourceType，保存在 XMP 中），相机、编辑器或生成器在这里声明图片是怎样产生的，例如“trainedAlgorithmicMedia”（AI 生成）或“digitalCapture”（相机拍摄）。它没有签名：任何人都可以写入或删除。",
    ),
    "ai_disclosure": (
        "AI 披露标签",
        "证据面板：署名行或 IPTC AI 字段中的 AI 标签。",
        "AI 服务和编辑器写进元数据的其他标签，例如署名行中的“Made with Google AI”或 IPTC 的“所用 AI 系统”字段。它们是自愿的、没有签名，图片重新保存或分享时通常会丢失。",
    ),
    "generator_metadata": (
        "生成器设置",
        "证据面板：生成器设置，例如提示词、采样器、步数或种子。",
        "Stable Diffusion WebUI、ComfyUI、NovelAI、InvokeAI 等图像生成工具会把设置（提示词、采样器、步数、种子、模型）保存在它们输出的 PNG 中。发现这些设置强烈提示图片出自这类工具；文件重新保存或上传到大多数网站后它们就会消失，原则上也可以被复制进去。",
    ),
    "camera": (
        "相机信息（EXIF）",
        "证据面板：相机品牌、型号、镜头和拍摄时间。",
        "相机和手机会在 EXIF 中记录品牌、型号、镜头、拍摄时间，常常还有位置。它支持图片来自相机，但 EXIF 很容易从另一张照片复制或修改。我们只报告是否有位置信息，从不显示位置本身。",
    ),
    "editing_software": (
        "编辑软件",
        "证据面板：保存过该文件的编辑器名称。",
        "Photoshop、GIMP 等编辑器保存文件时会留下自己的名字。编辑不等于造假，但编辑过的文件已经不是相机或生成器的原始输出，判断其像素时需要考虑这一点。",
    ),
    "reencoding": (
        "重新编码的痕迹",
        "证据面板：JPEG 质量、缩放过或屏幕尺寸的图片。",
        "表明文件在生成之后被压缩、缩放或从屏幕截取的线索：从量化表读出的 JPEG 质量、与拍摄时不同的尺寸、屏幕大小的尺寸。重新压缩会模糊检测器（以及 FakeVLM）所依赖的细微痕迹，是误报的常见原因：这类文件的像素证据较弱。",
    ),
    "no_metadata": (
        "没有元数据",
        "证据面板显示文件数据中没有可报告的内容。",
        "文件中没有相机数据、没有生成器设置，也没有凭证。社交网络和聊天软件在上传时会删除元数据，所以这是网络图片的正常状态，真实照片和 AI 图片都一样：它什么也证明不了。",
    ),
}

TRANSLATIONS: dict[str, dict[str, tuple[str, str, str]]] = {"zh-CN": _ZH_CN}
GROUP_TITLES: dict[str, dict[str, str]] = {
    "en": {"pixels": "Clues in the picture", "file": "Clues in the file's data"},
    "zh-CN": {"pixels": "画面中的线索", "file": "文件数据中的线索"},
}

_COMPILED: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (c.key, re.compile(p, re.IGNORECASE)) for c in GLOSSARY.values() for p in c.patterns
)
_MAX_SCAN = 20_000  # model answers are ~1.5 k characters; anything longer is cut before matching


def _language(lang: str) -> str | None:
    """The key of TRANSLATIONS for a language tag ("zh-CN", "zh", "zh-cn"), or None."""
    if not isinstance(lang, str):
        return None
    if lang in TRANSLATIONS:
        return lang
    low = lang.lower()
    for code in TRANSLATIONS:
        if code.lower() == low:
            return code
    base = low.split("-")[0]
    return next((code for code in TRANSLATIONS if code.lower().split("-")[0] == base), None)


def entry(key: str, lang: str = "en") -> ClueText:
    """The text of glossary entry `key` in `lang` (English when not translated). KeyError if unknown."""
    clue = GLOSSARY[key]
    code = _language(lang)
    if code is not None and key in TRANSLATIONS[code]:
        title, look_for, why = TRANSLATIONS[code][key]
        return ClueText(key, title, look_for, why, code)
    return ClueText(key, clue.title, clue.look_for, clue.why, "en")


def clue_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, key) of every glossary mention in `text`, in reading order, not overlapping
    (the earliest, then longest, match wins where two overlap)."""
    if not isinstance(text, str) or not text:
        return []
    text = text[:_MAX_SCAN]
    found = []
    for key, rx in _COMPILED:
        found.extend((m.start(), _word_end(text, m.end()), key) for m in rx.finditer(text) if m.end() > m.start())
    found.sort(key=lambda s: (s[0], -(s[1] - s[0])))
    out: list[tuple[int, int, str]] = []
    end = -1
    for s in found:
        if s[0] >= end:
            out.append(s)
            end = s[1]
    return out


def _word_end(text: str, end: int) -> int:
    """Extend a match that stops inside a word ("speckl" of "speckles") to the word's end."""
    while end < len(text) and (text[end].isalnum() or text[end] == "-" and end + 1 < len(text)
                               and text[end + 1].isalnum()):
        end += 1
    return end


def clues_in(text: str) -> list[str]:
    """Glossary keys that `text` mentions, in order of first mention, each once."""
    if not isinstance(text, str) or not text:
        return []
    text = text[:_MAX_SCAN]
    first: dict[str, int] = {}
    for key, rx in _COMPILED:
        m = rx.search(text)
        if m is not None and (key not in first or m.start() < first[key]):
            first[key] = m.start()
    return sorted(first, key=lambda k: (first[k], k))
