"""`/share/<token>`: the read-only page of a share link, served beside Gradio (a Starlette route).

The page is what `Sharing.share_page` makes: only the parts its visitor chose, no script, nothing
fetched. Every answer says `noindex` (search engines must not list shared results), sends no
referrer, and is not cached, so a revoked link stops showing at once. Unknown and revoked tokens get
the same 404 sentence. The language follows `?lang=` or the browser's Accept-Language.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from .i18n import normalize
from .service import Sharing
from .service.report import CSP
from .service.sharing import SHARE_PATH

HEADERS = {
    "X-Robots-Tag": "noindex, nofollow, noarchive",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


def share_routes(sharing: Sharing) -> list[Route]:
    """The route to add to the server (app.py passes it to `launch` through `launch_options`)."""

    def page(request: Request) -> HTMLResponse:  # sync: Starlette runs it in its thread pool (a DB read)
        lang = normalize(request.query_params.get("lang") or request.headers.get("accept-language", ""))
        status, html = sharing.share_page(request.path_params.get("token", ""), lang)
        return HTMLResponse(html, status_code=status, headers=HEADERS)

    return [Route(SHARE_PATH + "{token}", page, methods=["GET", "HEAD"], name="share")]
