"""``/api/v1/config``: the whole configuration, as CIB XML or YAML.

Read without the token, secret parameters are masked (:mod:`vigil.api.secrets`);
a configuration that still holds the mask is refused on the way back in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Literal

import fastapi
from fastapi import APIRouter, Header, Request
from fastapi.params import Depends
from fastapi.responses import Response

from vigil.admin.commands import Admin, CommandResult
from vigil.admin.configuration import load_config, render_config
from vigil.admin.errors import AdminError
from vigil.admin.intake import Findings
from vigil.api.context import ApiContext
from vigil.api.secrets import masked_config, placeholder_problems
from vigil.formats.yaml.dump import NotExpressibleInYaml
from vigil.model.config import Config

REVISION_HEADER = "X-Vigil-Config-Revision"
MEDIA_TYPES = {"xml": "application/xml", "yaml": "application/yaml"}
_TEXT_BODY = {"schema": {"type": "string"}}


def _revision(text: str | None) -> int | None:
    if text is None:
        return None
    cleaned = text.strip().removeprefix("W/").strip('"')
    if not cleaned.isdigit():
        raise AdminError(f"If-Match must be a configuration revision (a number), not {text!r}")
    return int(cleaned)


def config_routes(admin: Admin, context: ApiContext, auth: Sequence[Depends],
                  has_token: Callable[..., Awaitable[bool]]) -> APIRouter:
    router = APIRouter(tags=["configuration"])

    async def check(config: Config) -> Findings:
        found = await context.check_config(config)
        return Findings(placeholder_problems(config) + found.problems, found.warnings)

    @router.get("/config", summary="The configuration (its revision in the ETag and "
                f"{REVISION_HEADER} headers); secret parameters masked without the token",
                responses={200: {"content": {t: _TEXT_BODY for t in MEDIA_TYPES.values()}},
                           401: {"description": "A wrong token (none: secrets masked)"}})
    async def get_config(format: Literal["xml", "yaml"] = "xml",
                         authorized: bool = fastapi.Depends(has_token)) -> Response:
        config, revision = await admin.store.get_config()
        if not authorized:
            config = await masked_config(config, context.private_params)
        try:
            text = render_config(config, format, revision)
        except NotExpressibleInYaml as error:
            raise AdminError("the configuration cannot be shown as YAML: ask for format=xml",
                             [str(problem) for problem in error.problems]) from None
        return Response(text, media_type=MEDIA_TYPES[format],
                        headers={REVISION_HEADER: str(revision), "ETag": f'"{revision}"'})

    @router.put("/config", summary="Replace the configuration with the body (CIB XML); checked in full "
                "first, nothing changes on a problem", dependencies=list(auth),
                responses={400: {"description": "The configuration has problems (each in details)"},
                           401: {"description": "No or wrong token"},
                           409: {"description": "If-Match did not match, or it kept changing"}},
                openapi_extra={"requestBody": {"required": True, "content": {
                    media: _TEXT_BODY for media in (*MEDIA_TYPES.values(), "text/plain")}}})
    async def put_config(request: Request, name: str = "configuration",
                         if_match: str | None = Header(default=None)) -> CommandResult:
        data = await request.body()
        if not data.strip():
            raise AdminError("the request body is empty: send the configuration (CIB XML) as the body")
        return await load_config(admin, data, name, context.parse_config, check,
                                 expected_revision=_revision(if_match))

    return router
