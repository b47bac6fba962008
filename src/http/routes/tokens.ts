import { Router } from 'express';
import { z } from 'zod';
import type { Config } from '../../config';
import { AppError } from '../../errors';
import type { Services } from '../../services';
import { authenticateWithPassword, type Authenticator } from '../passport';
import { presentTokenPair } from '../presenters';
import { parseRequest } from '../validation';

const tokenBody = z.object({ username: z.string(), password: z.string() });

const refreshBody = z.object({ refreshToken: z.string() });

/** JWT mode: logging in for a token pair, refreshing it, ending it, and the public keys. */
export function tokensRouter(config: Config, services: Services, passport: Authenticator): Router {
  const { jwtSessions, signingKeys } = services;
  const router = Router();

  router.post('/token', async (req, res) => {
    const body = parseRequest(tokenBody, req.body);
    // The same credential check as /login, with its equal timing for unknown users.
    const user = await authenticateWithPassword(passport, body);
    if (!user) throw new AppError('INVALID_CREDENTIALS');
    res.json(presentTokenPair(await jwtSessions.startJwtSession(user, req.get('user-agent'))));
  });

  router.post('/token/refresh', async (req, res) => {
    const { refreshToken } = parseRequest(refreshBody, req.body);
    res.json(presentTokenPair(await jwtSessions.refreshJwtSession(refreshToken)));
  });

  // Answers 204 whatever the token: a client that logs out is done with it either way.
  router.post('/token/logout', async (req, res) => {
    const { refreshToken } = parseRequest(refreshBody, req.body);
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
