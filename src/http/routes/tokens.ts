import { Router } from 'express';
import type { Config } from '../../config';
import type { Services } from '../../services';
import type { LogIn } from '../logins';
import { presentTokenPair } from '../presenters';
import { refreshTokenBody } from '../schemas';
import { parseRequest } from '../validation';

/** JWT mode: logging in for a token pair, refreshing it, ending it, and the public keys. */
export function tokensRouter(config: Config, services: Services, logIn: LogIn): Router {
  const { jwtSessions, signingKeys } = services;
  const router = Router();

  router.post('/token', async (req, res) => {
    const answer = await logIn(req, { method: 'password', issued: 'tokens' }, async (user) => {
      const pair = await jwtSessions.startJwtSession(user, req.get('user-agent'));
      return { answer: presentTokenPair(pair), sessionId: pair.session.id };
    });
    res.json(answer);
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
