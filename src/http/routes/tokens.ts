import { Router } from 'express';
import type { Config } from '../../config';
import { AppError } from '../../errors';
import type { Services } from '../../services';
import { checkLogin, type Authenticator } from '../passport';
import { presentTokenPair } from '../presenters';
import { loginBody, refreshTokenBody } from '../schemas';
import { parseRequest } from '../validation';

/** JWT mode: logging in for a token pair, refreshing it, ending it, and the public keys. */
export function tokensRouter(config: Config, services: Services, passport: Authenticator): Router {
  const { jwtSessions, signingKeys, rateLimits } = services;
  const router = Router();

  router.post('/token', async (req, res) => {
    const body = parseRequest(loginBody, req.body);
    // The same limits and credential check as /login, with its equal timing for unknown users.
    const user = await checkLogin(passport, rateLimits, req.ip, body);
    if (!user) throw new AppError('INVALID_CREDENTIALS');
    res.json(presentTokenPair(await jwtSessions.startJwtSession(user, req.get('user-agent'))));
  });

  router.post('/token/refresh', async (req, res) => {
    const { refreshToken } = parseRequest(refreshTokenBody, req.body);
    res.json(presentTokenPair(await jwtSessions.refreshJwtSession(refreshToken)));
  });

  // Answers 204 whatever the token: a client that logs out is done with it either way.
  router.post('/token/logout', async (req, res) => {
    const { refreshToken } = parseRequest(refreshTokenBody, req.body);
    await jwtSessions.endJwtSession(refreshToken);
    res.status(204).end();
  });

  router.get('/.well-known/jwks.json', async (_req, res) => {
    const keySet = await signingKeys.publishedKeySet();
    // Hasura fetches the keys again only when this expires; with no max-age it never would.
    res.setHeader('Cache-Control', `public, max-age=${config.jwt.jwksMaxAgeSeconds}`);
    res.json(keySet);
  });

  return router;
}
