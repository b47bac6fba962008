import type { Request, Router } from 'express';
import type { z } from 'zod';
import type { Services } from '../../services';
import type { JwksResponder } from '../jwks';
import type { IssueLogin, Logins } from '../logins';
import { presentTokenPair } from '../presenters';
import { defineRoute, named, routerFor, type RouteSupport } from '../route-definition';
import * as schemas from '../schemas';

const tokenPair = named('TokenPair', schemas.tokenPairResponse);
const refreshTokenRequest = named('RefreshTokenRequest', schemas.refreshTokenBody);

/** JWT mode: logging in for a token pair, refreshing it, ending it, and the public keys. */
export const tokenRoutes = {
  obtainTokens: defineRoute({
    method: 'post',
    path: '/token',
    summary: 'JWT mode: log in for an access token and a refresh token (a new session)',
    tag: 'accounts',
    access: 'public',
    countedAs: { method: 'password', issued: 'tokens' },
    body: named('LoginRequest', schemas.loginBody),
    answers: [{ status: 200, description: 'The token pair.', body: tokenPair }],
    errors: ['INVALID_CREDENTIALS', 'MFA_REQUIRED', 'FORBIDDEN', 'RATE_LIMITED', 'OVERLOADED'],
    usesDatabase: true,
  }),
  finishTokenLogin: defineRoute({
    method: 'post',
    path: '/token/mfa',
    summary: "JWT mode: a login's second step, as /login/mfa; answers as /token does",
    tag: 'accounts',
    access: 'public',
    countedAs: { method: 'second_factor', issued: 'tokens' },
    body: named('SecondFactorLoginRequest', schemas.secondFactorLoginBody),
    answers: [{ status: 200, description: 'The token pair.', body: tokenPair }],
    errors: ['INVALID_MFA_CODE', 'INVALID_MFA_CHALLENGE', 'INVALID_CREDENTIALS', 'FORBIDDEN', 'RATE_LIMITED'],
    usesDatabase: true,
  }),
  obtainTokensWithPasskey: defineRoute({
    method: 'post',
    path: '/token/passkey',
    summary: 'JWT mode: log in with a passkey alone, as /login/passkey does; answers as /token does',
    description: 'The options come from POST /login/passkey/options.',
    tag: 'accounts',
    access: 'public',
    rateLimit: 'login-without-password',
    countedAs: { method: 'passkey', issued: 'tokens' },
    body: named('PasskeyLogin', schemas.passkeyLoginBody),
    answers: [{ status: 200, description: 'The token pair.', body: tokenPair }],
    errors: ['INVALID_PASSKEY', 'INVALID_CREDENTIALS', 'FORBIDDEN'],
    usesDatabase: true,
  }),
  refreshTokens: defineRoute({
    method: 'post',
    path: '/token/refresh',
    summary: 'JWT mode: a new pair; the refresh token sent is rotated (replayed late, it ends its session)',
    tag: 'accounts',
    access: 'public',
    body: refreshTokenRequest,
    answers: [{ status: 200, description: 'The new token pair.', body: tokenPair }],
    errors: ['INVALID_REFRESH_TOKEN', 'FORBIDDEN'],
    usesDatabase: true,
  }),
  endTokenSession: defineRoute({
    method: 'post',
    path: '/token/logout',
    summary: 'JWT mode: end the session of a refresh token (204 whatever the token)',
    tag: 'sessions',
    access: 'public',
    body: refreshTokenRequest,
    answers: [{ status: 204, description: 'The session, if there was one, has ended.' }],
    usesDatabase: true,
  }),
  getJsonWebKeySet: defineRoute({
    method: 'get',
    path: '/.well-known/jwks.json',
    summary: "JWT mode: the public keys that verify access tokens (Hasura's jwk_url)",
    tag: 'operations',
    access: 'public',
    answers: [
      { status: 200, description: 'The key set, with an ETag.', body: named('JsonWebKeySet', schemas.jwksResponse) },
      { status: 304, description: 'If-None-Match names the current ETag: the key set has not changed.' },
    ],
    usesDatabase: true,
  }),
};

export function tokensRouter(
  services: Services,
  { logins, jwks, support }: { logins: Logins; jwks: JwksResponder; support: RouteSupport },
): Router {
  const { jwtSessions } = services;
  const startJwtSession =
    (req: Request): IssueLogin<z.input<typeof schemas.tokenPairResponse>> =>
    async (user, amr) => {
      const pair = await jwtSessions.startJwtSession(user, { userAgent: req.get('user-agent'), amr });
      return { answer: presentTokenPair(pair), sessionId: pair.session.id };
    };
  return routerFor(
    tokenRoutes,
    {
      obtainTokens: async (req, res, { body }) => {
        res.json(await logins.logIn(req, body, tokenRoutes.obtainTokens.countedAs, startJwtSession(req)));
      },

      finishTokenLogin: async (req, res, { body }) => {
        res.json(await logins.finishLogIn(req, body, tokenRoutes.finishTokenLogin.countedAs, startJwtSession(req)));
      },

      obtainTokensWithPasskey: async (req, res, { body }) => {
        const kind = tokenRoutes.obtainTokensWithPasskey.countedAs;
        res.json(await logins.logInWithPasskey(req, body, kind, startJwtSession(req)));
      },

      refreshTokens: async (_req, res, { body }) => {
        res.json(presentTokenPair(await jwtSessions.refreshJwtSession(body.refreshToken)));
      },

      // Answers 204 whatever the token: a client that logs out is done with it either way.
      endTokenSession: async (_req, res, { body }) => {
        await jwtSessions.endJwtSession(body.refreshToken);
        res.status(204).end();
      },

      // Most calls are answered in front of Express (../jwks); a browser's, with Origin, here.
      getJsonWebKeySet: (req, res) => jwks.answer(req, res),
    },
    support,
  );
}
