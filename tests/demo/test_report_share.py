"""Reports and share links against the real app server: /report gives a PDF and an HTML file of the
caller's own result; /share makes a link that /share/<token> serves (noindex, only the chosen parts);
/revoke_share ends it (404 after); another visitor can neither download nor revoke."""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from gradio_client import Client, handle_file

from demo.i18n import tr


def _client(server) -> Client:
    return Client(server.url, verbose=False, download_files=False)


def _explain(client: Client, path: Path) -> str:
    job = client.submit(handle_file(str(path)), api_name="/explain")
    updates = list(job)
    assert job.status().success, job.exception()
    return updates[-1][8]  # the prediction id


def _get(url: str) -> tuple[int, Any, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:  # noqa: S310 - the test's own loopback server
            return r.status, r.headers, r.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read().decode("utf-8")


def _fetch(server, file_value) -> bytes:
    url = file_value["url"] if isinstance(file_value, dict) else file_value
    with urllib.request.urlopen(url, timeout=30) as r:  # noqa: S310
        return r.read()


@pytest.fixture(scope="module")
def owner(server, example_image):
    client = _client(server)
    return client, _explain(client, example_image)


def test_report_endpoint_gives_the_callers_own_pdf_and_html(server, owner, example_image):
    client, pid = owner
    named = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert {"/report", "/share", "/revoke_share"} <= set(named)
    pdf, html, note = client.predict(pid, None, api_name="/report")
    assert note == ""
    pdf_bytes, html_text = _fetch(server, pdf["value"]), _fetch(server, html["value"]).decode("utf-8")
    assert pdf_bytes.startswith(b"%PDF-")
    assert hashlib.sha256(example_image.read_bytes()).hexdigest() in html_text
    assert "<script" not in html_text and "noindex" in html_text


def test_another_visitor_can_neither_download_nor_share_nor_revoke(server, owner):
    client, pid = owner
    other = _client(server)
    for call in (lambda: other.predict(pid, None, api_name="/report"),
                 lambda: other.predict(pid, ["picture"], None, api_name="/share")):
        with pytest.raises(Exception, match="not yours"):
            call()
    link, _ = client.predict(pid, ["explanation"], None, api_name="/share")
    with pytest.raises(Exception, match=tr("sh_err_not_yours", "en")):
        other.predict(link, None, api_name="/revoke_share")
    assert _get(link)[0] == 200  # still live


def test_share_link_serves_only_the_chosen_parts_then_404_after_revoke(server, owner, example_image):
    client, pid = owner
    link, status = client.predict(pid, ["maps"], None, api_name="/share")
    assert status == tr("sh_created", "en")
    assert link.startswith(server.url.rstrip("/") + "/share/") and len(link.rsplit("/", 1)[1]) == 32
    code, headers, page = _get(link)
    assert code == 200
    assert "noindex" in headers.get("X-Robots-Tag", "") and headers.get("Cache-Control") == "no-store"
    assert "default-src 'none'" in headers.get("Content-Security-Policy", "")
    assert "<meta name='robots' content='noindex, nofollow'>" in page
    assert tr("ho_key_phrases", "en") in page  # the maps, chosen
    sha = hashlib.sha256(example_image.read_bytes()).hexdigest()
    assert sha not in page and tr("explanation_label", "en") not in page  # neither picture nor words
    assert "127.0.0.1" not in page  # no address, no visitor identity
    zh = _get(link + "?lang=zh-CN")[2]
    assert tr("sh_page_title", "zh-CN") in zh
    assert client.predict(link, None, api_name="/revoke_share") == tr("sh_revoked", "en")
    code, headers, page = _get(link)
    assert code == 404 and tr("sh_gone", "en") in page and "noindex" in headers.get("X-Robots-Tag", "")
    assert _get(server.url + "share/" + "A" * 32)[0] == 404
    assert _get(server.url + "share/..%2F..%2Fetc%2Fpasswd")[0] == 404
    with pytest.raises(Exception, match=tr("sh_err_not_yours", "en")):
        client.predict(link, None, api_name="/revoke_share")  # once revoked, it stays revoked
