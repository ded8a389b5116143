"""Builds small image files carrying each kind of provenance evidence, from nothing.

Used by the tests and the hostile-input bench (bench/provenance_hostile.py): a JPEG with camera EXIF, a PNG
with Stable Diffusion WebUI or ComfyUI settings, XMP with an IPTC digital source type, a file
signed with C2PA Content Credentials (by a throwaway test certificate made here, never trusted
by anyone else), tampered copies, and hostile files (huge chunks, XML bombs, broken JUMBF).

Everything is generated in memory with Pillow, `cryptography` and c2pa-python; nothing is
downloaded and no private key leaves the process.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import json
import struct
import zlib
from dataclasses import dataclass

from PIL import Image
from PIL.PngImagePlugin import PngInfo

from explain.provenance.container import JPEG_XMP_ID, PNG_SIGNATURE

AI_SOURCE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
AI_EDIT_SOURCE = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
CAMERA_SOURCE = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"

# Written into camera EXIF by camera_exif(gps=True): distinctive numbers that tests can look for.
SAMPLE_GPS = (("N", (37.0, 13.0, 41.217)), ("W", (115.0, 48.0, 29.333)))

A1111_PARAMETERS = (
    "a photo of an astronaut riding a horse on the moon, highly detailed\n"
    "Negative prompt: blurry, lowres\n"
    "Steps: 28, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 1234567890, Size: 512x512, "
    'Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Lora hashes: "x: 1a2b", Version: v1.10.1'
)


def _pattern(size: tuple[int, int], seed: int = 0) -> Image.Image:
    """A deterministic image with some texture, so JPEG tables and sizes behave as for photos."""
    w, h = size
    img = Image.linear_gradient("L").resize(size)
    r = img.rotate(90 + seed)
    return Image.merge("RGB", (img, r, img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))


def jpeg_bytes(
    size: tuple[int, int] = (96, 64),
    *,
    quality: int = 90,
    exif: Image.Exif | None = None,
    xmp: bytes | None = None,
    progressive: bool = False,
    qtables: list[list[int]] | None = None,
) -> bytes:
    buf = io.BytesIO()
    kwargs: dict = {"quality": quality, "progressive": progressive}
    if qtables is not None:
        kwargs = {"qtables": qtables, "progressive": progressive}
    if exif is not None:
        kwargs["exif"] = exif
    _pattern(size).save(buf, "JPEG", **kwargs)
    data = buf.getvalue()
    if xmp is not None:
        data = insert_jpeg_segment(data, 0xE1, JPEG_XMP_ID + xmp)
    return data


def png_bytes(
    size: tuple[int, int] = (96, 64),
    *,
    text: dict[str, str] | None = None,
    itxt: dict[str, str] | None = None,
    exif: Image.Exif | None = None,
    xmp: bytes | None = None,
) -> bytes:
    info = PngInfo()
    for k, v in (text or {}).items():
        info.add_text(k, v)
    for k, v in (itxt or {}).items():
        info.add_itxt(k, v)
    if xmp is not None:
        info.add_itxt("XML:com.adobe.xmp", xmp.decode("utf-8"))
    buf = io.BytesIO()
    kwargs: dict = {"pnginfo": info}
    if exif is not None:
        kwargs["exif"] = exif
    _pattern(size).save(buf, "PNG", **kwargs)
    return buf.getvalue()


def webp_bytes(size: tuple[int, int] = (96, 64), *, exif: Image.Exif | None = None,
               xmp: bytes | None = None) -> bytes:  # fmt: skip
    buf = io.BytesIO()
    kwargs: dict = {"quality": 80}
    if exif is not None:
        kwargs["exif"] = exif
    if xmp is not None:
        kwargs["xmp"] = xmp
    _pattern(size).save(buf, "WEBP", **kwargs)
    return buf.getvalue()


def heif_bytes(size: tuple[int, int] = (64, 64), *, exif: Image.Exif | None = None,
               bare_exif: bool = False) -> bytes:  # fmt: skip
    """A real HEIC written by pillow-heif (libheif). `bare_exif`: the EXIF item holds the TIFF
    header right after its offset word, without "Exif\\0\\0", as many phones write it."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    kwargs: dict = {"quality": 50}
    if exif is not None:
        raw = exif.tobytes()  # b"Exif\\0\\0" + TIFF
        kwargs["exif"] = raw[6:] if bare_exif else raw
    buf = io.BytesIO()
    _pattern(size).save(buf, "HEIF", **kwargs)
    return buf.getvalue()


def camera_exif(
    make: str = "Canon",
    model: str = "Canon EOS R5",
    *,
    lens: str | None = "RF24-105mm F4 L IS USM",
    captured: str | None = "2024:05:01 10:30:00",
    gps: bool = True,
    maker_note: bool = True,
    exposure: bool = True,
    pixel_size: tuple[int, int] | None = None,
    software: str | None = None,
    user_comment: bytes | None = None,
) -> Image.Exif:
    e = Image.Exif()
    e[0x010F] = make
    e[0x0110] = model
    if software:
        e[0x0131] = software
    sub = e.get_ifd(0x8769)
    if captured:
        sub[0x9003] = captured
    if lens:
        sub[0xA434] = lens
    if maker_note:
        sub[0x927C] = b"MAKERNOTE" + bytes(range(32))
    if exposure:
        sub[0x829A] = 1 / 200
        sub[0x829D] = 4.0
        sub[0x8827] = 200
    if pixel_size:
        sub[0xA002], sub[0xA003] = pixel_size
    if user_comment is not None:
        sub[0x9286] = user_comment
    if gps:
        g = e.get_ifd(0x8825)
        (g[1], g[2]), (g[3], g[4]) = SAMPLE_GPS
    return e


def software_exif(software: str, *, user_comment: bytes | None = None) -> Image.Exif:
    e = Image.Exif()
    e[0x0131] = software
    if user_comment is not None:
        e.get_ifd(0x8769)[0x9286] = user_comment
    return e


def user_comment_unicode(text: str) -> bytes:
    """EXIF UserComment as Stable Diffusion WebUI writes it into JPEG and WebP (via piexif)."""
    return b"UNICODE\x00" + text.encode("utf-16-be")


def xmp_packet(properties: dict[str, str], *, as_attributes: bool = False) -> bytes:
    """An XMP packet with the given 'prefix:Name' -> value properties (known prefixes only)."""
    ns = {
        "Iptc4xmpExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/",
        "photoshop": "http://ns.adobe.com/photoshop/1.0/",
        "xmp": "http://ns.adobe.com/xap/1.0/",
        "dc": "http://purl.org/dc/elements/1.1/",
        "dcterms": "http://purl.org/dc/terms/",
        "tiff": "http://ns.adobe.com/tiff/1.0/",
    }
    decls = " ".join(f'xmlns:{p}="{u}"' for p, u in ns.items())
    if as_attributes:
        attrs = " ".join(f'{k}="{_xml_escape(v)}"' for k, v in properties.items())
        body = f'<rdf:Description rdf:about="" {decls} {attrs}/>'
    else:
        props = []
        for k, v in properties.items():
            if k.startswith("dc:"):  # dc text properties are language alternatives
                inner = f'<rdf:Alt><rdf:li xml:lang="x-default">{_xml_escape(v)}</rdf:li></rdf:Alt>'
                props.append(f"<{k}>{inner}</{k}>")
            else:
                props.append(f"<{k}>{_xml_escape(v)}</{k}>")
        body = f'<rdf:Description rdf:about="" {decls}>{"".join(props)}</rdf:Description>'
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f"{body}</rdf:RDF></x:xmpmeta>"
        '<?xpacket end="w"?>'
    ).encode()


def _xml_escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def comfyui_chunks(seed: int = 42) -> dict[str, str]:
    prompt = {
        "3": {"class_type": "KSampler", "inputs": {"seed": seed, "steps": 20, "cfg": 8,
              "sampler_name": "euler", "model": ["4", 0]}},
        "4": {"class_type": "CheckpointLoaderSimple",
              "inputs": {"ckpt_name": "sd_xl_base_1.0.safetensors"}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a castle in the clouds"}},
        "8": {"class_type": "VAEDecode", "inputs": {}},
        "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "ComfyUI"}},
    }  # fmt: skip
    workflow = {"last_node_id": 9, "nodes": [{"id": i, "type": "X"} for i in range(5)]}
    return {"prompt": json.dumps(prompt), "workflow": json.dumps(workflow)}


def comfyui_webp_exif(seed: int = 42) -> Image.Exif:
    """EXIF as ComfyUI's WebP save writes it (comfy_extras/nodes_images.py, SaveAnimatedWEBP):
    Model (0x0110) = "prompt:" + the graph JSON, Make (0x010F) = "workflow:" + the editor JSON."""
    chunks = comfyui_chunks(seed)
    e = Image.Exif()
    e[0x0110] = "prompt:" + chunks["prompt"]
    e[0x010F] = "workflow:" + chunks["workflow"]
    return e


# --- byte surgery -------------------------------------------------------------------------------


def insert_jpeg_segment(jpeg: bytes, marker: int, payload: bytes) -> bytes:
    """Insert an APPn/COM segment right after SOI (payload up to 65533 bytes)."""
    if len(payload) > 65533:
        raise ValueError("a JPEG segment holds at most 65533 bytes")
    seg = bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload
    return jpeg[:2] + seg + jpeg[2:]


def png_chunk(ctype: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", zlib.crc32(ctype + data))


def insert_png_chunks(png: bytes, chunks: list[bytes]) -> bytes:
    """Insert raw chunks right after IHDR."""
    ihdr_end = 8 + 8 + 13 + 4
    return png[:ihdr_end] + b"".join(chunks) + png[ihdr_end:]


def tamper_image_data(data: bytes) -> bytes:
    """Change one byte of the image data (JPEG scan data or PNG IDAT), keeping the structure.

    For PNG the CRC is recomputed, so the file still reads as a PNG with different pixels.
    """
    if data.startswith(b"\xff\xd8"):
        sos = data.rfind(b"\xff\xda")
        header_len = struct.unpack(">H", data[sos + 2 : sos + 4])[0]
        at = sos + 2 + header_len + 4
        if at >= len(data) - 2:
            raise ValueError("no scan data to tamper with")
        flipped = data[at] ^ 0x01
        if flipped == 0xFF:  # keep the entropy-coded data free of marker bytes
            flipped = data[at] ^ 0x02
        return data[:at] + bytes([flipped]) + data[at + 1 :]
    if data.startswith(PNG_SIGNATURE):
        pos = 8
        while pos + 8 <= len(data):
            length, ctype = struct.unpack(">I4s", data[pos : pos + 8])
            if ctype == b"IDAT" and length > 4:
                body = bytearray(data[pos + 8 : pos + 8 + length])
                body[length // 2] ^= 0x01
                return data[:pos] + png_chunk(b"IDAT", bytes(body)) + data[pos + 12 + length :]
            pos += 12 + length
        raise ValueError("no IDAT chunk")
    raise ValueError("only JPEG and PNG can be tampered with here")


# --- C2PA signing with a test certificate ----------------------------------------------------


@dataclass(frozen=True)
class SigningIdentity:
    """A throwaway C2PA signing identity: root CA + end-entity certificate (ES256)."""

    chain_pem: str  # end-entity certificate followed by the root
    key_pem: str
    root_pem: str
    common_name: str
    organization: str


@functools.lru_cache(maxsize=4)
def signing_identity(
    common_name: str = "Spot the Fake Test Signer",
    organization: str = "Test AI Lab",
    *,
    valid_for_s: float = 365 * 86400,
) -> SigningIdentity:
    """A root CA and a signing certificate that c2pa-rs accepts (checked with c2pa-rs 0.91).

    c2pa-rs profiles signing certificates: X.509 v3, ECDSA P-256 here, `digitalSignature` key
    usage (critical), an extended key usage it allows (emailProtection; documentSigning works
    too), not a CA, with authority and subject key identifiers, issued by a separate CA.
    `valid_for_s`: the signing certificate's lifetime from now. c2pa-rs refuses to sign with an
    expired certificate, so an expired signer is made by signing with a short-lived one and
    reading the file after it ran out.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.timezone.utc)

    def name(cn: str, org: str) -> x509.Name:
        return x509.Name([
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ])  # fmt: skip

    def usage(*, sign: bool, ca: bool) -> x509.KeyUsage:
        return x509.KeyUsage(
            digital_signature=sign, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
            encipher_only=False, decipher_only=False,
        )  # fmt: skip

    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = name("Spot the Fake Test Root CA", "Spot the Fake Tests")
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=60))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(usage(sign=False, ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), False)
        .sign(root_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(name(common_name, organization))
        .issuer_name(root_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(seconds=valid_for_s))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage(sign=True, ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), False
        )
        .sign(root_key, hashes.SHA256())
    )

    def pem(cert: x509.Certificate) -> str:
        return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")

    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    return SigningIdentity(pem(leaf) + pem(root), key_pem, pem(root), common_name, organization)


def sign_c2pa(
    image: bytes,
    mime: str,
    *,
    digital_source_type: str | None = AI_SOURCE,
    generator: str = "Test Diffusion 1.0",
    identity: SigningIdentity | None = None,
    actions: list[dict] | None = None,
    assertions: list[dict] | None = None,
    ingredient: tuple[bytes, str] | None = None,
) -> bytes:
    """`image` with an embedded C2PA manifest signed by `identity` (a fresh test one by default).

    The manifest has one c2pa.actions assertion: by default a single c2pa.created action by
    `generator` with the given IPTC digital source type; `actions` replaces that list (c2pa-rs
    requires the first action to be c2pa.created or c2pa.opened). `assertions` are added as
    they are (e.g. a `cawg.identity` one); `ingredient` = (file bytes, mime) is recorded as the
    parent the image was opened from, with whatever credentials it carries. Thumbnails are off
    to keep files small.
    """
    import c2pa

    identity = identity or signing_identity()
    if actions is None and ingredient is not None:
        actions = [{"action": "c2pa.opened", "parameters": {"ingredientIds": ["parent"]}}]
    if actions is None:
        act: dict = {"action": "c2pa.created", "softwareAgent": {"name": generator}}
        if digital_source_type:
            act["digitalSourceType"] = digital_source_type
        actions = [act]
    manifest = {
        "claim_generator_info": [{"name": generator.split()[0], "version": "1.0"}],
        "title": "sample",
        "assertions": [{"label": "c2pa.actions", "data": {"actions": actions}}, *(assertions or [])],
    }
    info = c2pa.C2paSignerInfo(
        c2pa.C2paSigningAlg.ES256, identity.chain_pem.encode(), identity.key_pem.encode(), None
    )
    context = c2pa.Context.from_dict({
        "builder": {"thumbnail": {"enabled": False}},
        "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
    })  # fmt: skip
    out = io.BytesIO()
    with c2pa.Signer.from_info(info) as signer, c2pa.Builder(manifest, context=context) as b:
        if ingredient is not None:
            parent = {"title": "parent.jpg", "relationship": "parentOf", "label": "parent"}
            b.add_ingredient(parent, ingredient[1], io.BytesIO(ingredient[0]))
        b.sign(signer, mime, io.BytesIO(image), out)
    return out.getvalue()


def forge_manifest(signed: bytes, needle: bytes) -> bytes:
    """`signed` with one byte of a signed statement changed (the first byte of `needle`)."""
    at = signed.find(needle)
    if at < 0:
        raise ValueError("needle not in the file")
    return signed[:at] + bytes([signed[at] ^ 0x01]) + signed[at + 1 :]


def stripped_manifest_jpeg() -> bytes:
    """A JPEG whose XMP still points at an embedded manifest (self#jumbf=...) that was removed,
    as tools that drop the APP11 segments but keep XMP leave it."""
    ref = "self#jumbf=/c2pa/urn:c2pa:0b5ae1a0-1f08-4a2c-9a0e-5d0f7c7b1a11/c2pa.assertions/c2pa.hash.data"
    return jpeg_bytes(xmp=xmp_packet({"dcterms:provenance": ref}))


# A CAWG identity assertion whose signature is garbage: c2pa-rs validates it and fails it.
BROKEN_IDENTITY_ASSERTION = {
    "label": "cawg.identity",
    "data": {"signer_payload": {"sig_type": "cawg.x509.cose", "referenced_assertions": []},
             "signature": "0001", "pad1": ""},
}  # fmt: skip


# --- hostile files -----------------------------------------------------------------------------


def png_with_huge_text(megabytes: int = 50) -> bytes:
    blob = b"parameters\x00" + b"A" * (megabytes * 1024 * 1024)
    return insert_png_chunks(png_bytes(), [png_chunk(b"tEXt", blob)])


def png_with_many_chunks(n: int = 10_000) -> bytes:
    chunks = [png_chunk(b"tEXt", b"k%d\x00value %d" % (i, i)) for i in range(n)]
    return insert_png_chunks(png_bytes(), chunks)


def png_with_ztxt_bomb(megabytes: int = 1024) -> bytes:
    """A zTXt chunk that inflates to `megabytes` MB of zeros (about 1 MB compressed per GB)."""
    z = zlib.compressobj(9)
    block = b"\x00" * (1024 * 1024)
    body = b"".join(z.compress(block) for _ in range(megabytes)) + z.flush()
    return insert_png_chunks(png_bytes(), [png_chunk(b"zTXt", b"Comment\x00\x00" + body)])


def xmp_nested(depth: int = 100_000) -> bytes:
    inner = b"<a>" * depth + b"x" + b"</a>" * depth
    return (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        + inner
        + b"</rdf:RDF></x:xmpmeta>"
    )


def xmp_billion_laughs() -> bytes:
    ents = ['<!ENTITY lol "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    ]
    return (
        '<?xml version="1.0"?><!DOCTYPE x:xmpmeta [' + "".join(ents) + "]>"
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
        'xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"><photoshop:Credit>&lol9;'
        "</photoshop:Credit></rdf:Description></rdf:RDF></x:xmpmeta>"
    ).encode("utf-8")


def jpeg_with_malformed_jumbf() -> bytes:
    """A JPEG whose APP11 segment starts a C2PA JUMBF box and then lies about its sizes."""
    jumbf = (
        b"JP" + b"\x00\x01" + b"\x00\x00\x00\x01"  # common identifier, box instance, sequence
        + struct.pack(">I", 0xFFFFFF00) + b"jumb"  # a superbox claiming ~4 GB
        + struct.pack(">I", 0x7FFFFFFF) + b"jumd"  # a description box claiming 2 GB
        + b"c2pa" + b"\x00\x11\x00\x10\x80\x00\x00\xaa\x00\x38\x9b\x71"  # the C2PA UUID
        + b"\x03c2pa\x00"  # toggles + label
        + b"\xde\xad\xbe\xef" * 64
    )  # fmt: skip
    return insert_jpeg_segment(jpeg_bytes(), 0xEB, jumbf)


def png_with_garbage_c2pa() -> bytes:
    """A PNG with a caBX (C2PA) chunk full of noise shaped like a JUMBF header."""
    body = struct.pack(">I", 40) + b"jumb" + struct.pack(">I", 1_000_000) + b"jumd" + b"c2pa" * 64
    return insert_png_chunks(png_bytes(), [png_chunk(b"caBX", body)])


def tiff_exif_loop() -> bytes:
    """A JPEG whose EXIF directories point at themselves and claim 65535 entries."""
    tiff = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 0xFFFF)
    tiff += struct.pack("<HHII", 0x8769, 4, 1, 8) + struct.pack("<HHII", 0x8825, 4, 1, 8)
    tiff += b"\x00" * 64
    return insert_jpeg_segment(jpeg_bytes(), 0xE1, b"Exif\x00\x00" + tiff)


def heif_with_fake_tiff_headers(n: int = 100_000) -> bytes:
    """A HEIF followed by `n` zero words + TIFF headers whose first directory is nonsense: the
    bare-EXIF search must give up after a bounded number of candidates."""
    fake = b"\x00\x00\x00\x00II*\x00" + struct.pack("<I", 0xFFFFFF00)
    return heif_bytes() + fake * n


def webp_with_huge_comfyui_exif(megabytes: int = 4) -> bytes:
    """A WebP whose EXIF Make claims a ComfyUI workflow of `megabytes` MB (cut by the caps)."""
    e = Image.Exif()
    e[0x010F] = "workflow:{" + '"n": 1, ' * (megabytes * 1024 * 1024 // 8) + '"end": 0}'
    return webp_bytes(exif=e)
