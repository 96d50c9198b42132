"""JSON login for API clients: tokens in the body, Bearer on later requests."""

from __future__ import annotations

from litestar import Router, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from auth import actions
from auth.queries import Principal
from web.guards import principal_of, signed_in
from web.http import Req
from web.openapi import answers
from web.schemas import (
    EnrolmentDone,
    EnrolmentRequest,
    EnrolmentStart,
    LoginRequest,
    LoginResponse,
    Me,
    PasswordChange,
    RefreshRequest,
    SecondFactorRequest,
    StepUpRequest,
    TokenPair,
)
from web.security import app_context, client_address


def token_pair(tokens: actions.SessionTokens) -> TokenPair:
    return TokenPair(tokens.access_token, tokens.refresh_token, "Bearer", tokens.expires_in)


def user_agent(request: Req) -> str:
    return request.headers.get("user-agent", "")[:200]


@post("/login", status_code=200, responses=answers(401, 429))
async def login(request: Req, data: JSONBody[LoginRequest]) -> LoginResponse:
    step = await app_context(request).login.password(
        username=data.username,
        password=data.password,
        address=client_address(request),
        user_agent=user_agent(request),
        device=data.device_token,
    )
    if step.tokens is not None:
        return LoginResponse("signed_in", tokens=token_pair(step.tokens), device_token=step.tokens.device)
    if step.next_step == "verify":
        return LoginResponse("second_factor_required", step_token=step.step_token)
    return LoginResponse("enrolment_required", step_token=step.step_token)


@post("/second-factor", status_code=200, responses=answers(401, 429))
async def second_factor(request: Req, data: JSONBody[SecondFactorRequest]) -> LoginResponse:
    tokens = await app_context(request).login.second_factor(
        step_token=data.step_token,
        code=data.code,
        address=client_address(request),
        user_agent=user_agent(request),
    )
    return LoginResponse("signed_in", tokens=token_pair(tokens), device_token=tokens.device)


@post("/enrolment", status_code=200, responses=answers(401))
async def start_enrolment(request: Req, data: JSONBody[EnrolmentRequest]) -> EnrolmentStart:
    enrolment = await app_context(request).login.start_enrolment(
        step_token=data.step_token, address=client_address(request)
    )
    return EnrolmentStart(enrolment.secret, enrolment.uri)


@post("/enrolment/confirm", status_code=200, responses=answers(401, 429))
async def confirm_enrolment(request: Req, data: JSONBody[SecondFactorRequest]) -> EnrolmentDone:
    tokens, codes = await app_context(request).login.confirm_enrolment(
        step_token=data.step_token,
        code=data.code,
        address=client_address(request),
        user_agent=user_agent(request),
    )
    return EnrolmentDone(token_pair(tokens), codes, tokens.device)


@post("/refresh", status_code=200, responses=answers(401, 429))
async def refresh(request: Req, data: JSONBody[RefreshRequest]) -> TokenPair:
    tokens = await app_context(request).login.refresh(
        refresh_token=data.refresh_token, address=client_address(request)
    )
    return token_pair(tokens)


@post("/logout", status_code=204, guards=[signed_in])
async def logout(request: Req, session: NamedDependency[AsyncSession]) -> None:
    principal = principal_of(request)
    await actions.do_end_session(session, user_id=principal.user_id, family=principal.session_family)


@post("/step-up", status_code=200, guards=[signed_in], responses=answers(429))
async def step_up(request: Req, data: JSONBody[StepUpRequest]) -> TokenPair:
    tokens = await app_context(request).credentials.step_up(
        principal_of(request), password=data.password, code=data.code, address=client_address(request)
    )
    return token_pair(tokens)


auth_router = Router(
    path="/api/auth",
    route_handlers=[login, second_factor, start_enrolment, confirm_enrolment, refresh, logout, step_up],
    tags=["authentication"],
)


def me_out(principal: Principal) -> Me:
    roles = [{"role": role, "scope": scope} for role, scope in sorted(principal.roles)]
    return Me(principal.user_id, principal.username, principal.display_name, roles, list(principal.methods))


@get("/me", guards=[signed_in])
async def me(request: Req) -> Me:
    return me_out(principal_of(request))


@post("/me/password", status_code=204, guards=[signed_in], responses=answers(429))
async def change_password(request: Req, data: JSONBody[PasswordChange]) -> None:
    """Throttled like a sign-in; this session stays, the others end. The flow opens its own transactions."""
    await app_context(request).credentials.change_password(
        principal_of(request),
        current=data.current_password,
        new=data.new_password,
        address=client_address(request),
    )


me_router = Router(path="/api", route_handlers=[me, change_password], tags=["account"])
