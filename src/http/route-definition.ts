import { Router, type Request, type RequestHandler, type Response } from 'express';
import type { z } from 'zod';
import type { RateLimits } from '../domain/rate-limits';
import { AppError, type ErrorCode } from '../errors';
import { accountOutcomeOf, type CountedAction, type Metrics } from '../metrics';
import type { CsrfDefence } from './csrf';
import { signedInUserId } from './authentication';
import { parseRequest, queryParameters, refuseBodiesThatAreNotJson } from './validation';

/**
 * One definition per route: what it is (method, path, who may call it, what it takes and
 * answers), from which both the Express router and the OpenAPI document are built. A route is
 * served only through routerFor, which takes its definitions, so none can be served without its
 * entry in the document; and the guards a route runs (CSRF, authentication, rate limit, input
 * parsing) are chosen from its definition, which is also where the document reads the errors
 * they can raise.
 */

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

export type Access =
  /** Anyone. */
  | 'public'
  /** A session: `Authorization: Bearer <token>` or the session cookie. */
  | 'session'
  /** A session of a user holding `admin`, or the admin secret. */
  | 'admin'
  /** A machine holding METRICS_TOKEN. */
  | 'metrics-token'
  /** Hasura, forwarding the client's headers (the webhook, served in front of Express). */
  | 'hasura';

export type Tag =
  | 'accounts'
  | 'second-factors'
  | 'email'
  | 'identity-providers'
  | 'pages'
  | 'sessions'
  | 'webhook'
  | 'administration'
  | 'operations';

/** The actions that the rate limits count (by client address, and some by account) before the handler runs. */
export type RateLimitedAction =
  | 'signup'
  /** Starting a login through an identity provider (LOGIN_LIMIT_PER_IP). */
  | 'login-without-password'
  | 'password-change'
  /** Asking for a reset mail (counted per login too) or using its token. */
  | 'password-reset'
  /** Asking for a verification mail (counted per user too) or using its token. */
  | 'email-verification';

export interface NamedSchema<S extends z.ZodType = z.ZodType> {
  /** The name under components/schemas. */
  readonly name: string;
  readonly schema: S;
}

export const named = <S extends z.ZodType>(name: string, schema: S): NamedSchema<S> => ({ name, schema });

export interface Answer {
  readonly status: number;
  readonly description: string;
  readonly body?: NamedSchema;
  /** The body's media type, when it is not JSON. */
  readonly mediaType?: string;
}

export const noContent = (description: string): Answer => ({ status: 204, description });

export interface RouteDefinition {
  readonly method: HttpMethod;
  /** In OpenAPI form: `/sessions/{id}`. */
  readonly path: string;
  readonly summary: string;
  readonly description?: string;
  readonly tag: Tag;
  readonly access: Access;
  /**
   * It signs the caller in (sets the session cookie). A forged call would sign the victim in as
   * the attacker, so the CSRF check applies to every call a browser sends, with a cookie or not.
   */
  readonly signsIn?: boolean;
  /**
   * A page for people (a link in a mail opens one; /account and /admin are others): its body is a
   * form (application/x-www-form-urlencoded, so that it works without JavaScript), posted only
   * from this service's own pages and, when signed in, with the page's CSRF field; it answers
   * HTML, and its errors are pages too.
   */
  readonly page?: boolean;
  readonly rateLimit?: RateLimitedAction;
  /** Counts how every call ends (`success` or its error code, input and rate limit included). */
  readonly countedAs?: CountedAction;
  readonly params?: z.ZodType;
  /** Malformed path parameters are answered as this error rather than VALIDATION_FAILED. */
  readonly malformedParams?: { readonly code: 'NOT_FOUND'; readonly message: string };
  readonly query?: z.ZodType;
  readonly headers?: z.ZodType;
  readonly body?: NamedSchema;
  readonly answers: readonly Answer[];
  /** The errors the handler or the domain raises, beyond those that follow from the definition. */
  readonly errors?: readonly ErrorCode[];
  /** Whether an answer needs the database: then it can be 503 DATABASE_UNAVAILABLE. */
  readonly usesDatabase: boolean;
}

/** Keeps the literal types of a definition, so that its handler's input is typed from its schemas. */
export const defineRoute = <const D extends RouteDefinition>(definition: D): D => definition;

/** A group of routes, named by operationId. */
export type RouteDefinitions = Readonly<Record<string, RouteDefinition>>;

const SAFE_METHODS: ReadonlySet<HttpMethod> = new Set(['get']);

/** The CSRF check a route runs, if any. */
function csrfCheckOf(definition: RouteDefinition): 'page-form' | 'session-issuing' | 'cookie-sessions' | undefined {
  if (definition.page && !SAFE_METHODS.has(definition.method)) return 'page-form';
  if (definition.signsIn) return 'session-issuing';
  const cookieAuthenticates = definition.access === 'session' || definition.access === 'admin';
  return cookieAuthenticates && !SAFE_METHODS.has(definition.method) ? 'cookie-sessions' : undefined;
}

/** Every error a route can answer: those its definition implies, with those its handler raises. */
export function errorCodesOf(definition: RouteDefinition): Set<ErrorCode> {
  const codes = new Set<ErrorCode>(definition.errors);
  if (csrfCheckOf(definition)) codes.add('CSRF_REJECTED');
  if (definition.body && definition.page) codes.add('VALIDATION_FAILED').add('PAYLOAD_TOO_LARGE');
  else if (definition.body) {
    for (const code of ['VALIDATION_FAILED', 'INVALID_JSON', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'] as const) {
      codes.add(code);
    }
  }
  if (definition.params) codes.add(definition.malformedParams?.code ?? 'VALIDATION_FAILED');
  if (definition.query) codes.add('VALIDATION_FAILED');
  // A signed-in page asked for without a session sends the browser to the login page (303) instead.
  const redirectsToLogin = definition.page === true && SAFE_METHODS.has(definition.method);
  if (definition.access !== 'public' && definition.access !== 'hasura' && !redirectsToLogin) codes.add('UNAUTHORIZED');
  if (definition.access === 'admin') codes.add('FORBIDDEN');
  if (definition.rateLimit) codes.add('RATE_LIMITED');
  if (definition.usesDatabase) codes.add('DATABASE_UNAVAILABLE');
  codes.add('INTERNAL_ERROR');
  return codes;
}

type Parsed<S> = S extends z.ZodType ? z.output<S> : undefined;

/** What a handler is given, parsed by the schemas of its definition. */
export interface RouteInput<D extends RouteDefinition> {
  params: Parsed<D['params']>;
  query: Parsed<D['query']>;
  body: D['body'] extends NamedSchema<infer S> ? z.output<S> : undefined;
}

export type RouteHandler<D extends RouteDefinition> = (
  req: Request,
  res: Response,
  input: RouteInput<D>,
) => Promise<void> | void;

/** A handler for every route of a group: a route without one does not compile. */
export type RouteHandlers<G extends RouteDefinitions> = { readonly [K in keyof G]: RouteHandler<G[K]> };

/** What routers are built with: the guards and the counters that their routes' definitions name. */
export interface RouteSupport {
  csrf?: CsrfDefence;
  /** Parse a JSON body into req.body. */
  jsonBody?: readonly RequestHandler[];
  /** Parse a form body into req.body, for pages (whose router answers their errors as pages). */
  formBody?: readonly RequestHandler[];
  requireSession?: RequestHandler;
  requireAdmin?: RequestHandler;
  requireMetricsToken?: RequestHandler;
  rateLimits?: RateLimits;
  metrics?: Metrics;
}

function required<T>(guard: T | undefined, what: string, route: string): T {
  if (guard === undefined) throw new Error(`${route} needs ${what}, which this router was not given`);
  return guard;
}

function guardsOf(definition: RouteDefinition, support: RouteSupport, route: string): RequestHandler[] {
  const chain: RequestHandler[] = [];
  // First, so that a forged form post is told CSRF_REJECTED, whatever its body.
  const csrfCheck = csrfCheckOf(definition);
  if (csrfCheck === 'page-form') chain.push(required(support.csrf, 'the CSRF defence', route).forPageForms);
  if (csrfCheck === 'session-issuing') chain.push(required(support.csrf, 'the CSRF defence', route).forSessionIssuing);
  if (csrfCheck === 'cookie-sessions') chain.push(required(support.csrf, 'the CSRF defence', route).forCookieSessions);
  if (!SAFE_METHODS.has(definition.method) && definition.page) {
    chain.push(...required(support.formBody, 'the form body parser', route));
    if (definition.access === 'session' || definition.access === 'admin') {
      chain.push(required(support.csrf, 'the CSRF defence', route).forSignedInPageForms);
    }
  } else if (!SAFE_METHODS.has(definition.method)) {
    chain.push(...required(support.jsonBody, 'the JSON body parser', route), refuseBodiesThatAreNotJson);
  }
  if (definition.access === 'session') chain.push(required(support.requireSession, 'sessions', route));
  if (definition.access === 'admin') chain.push(required(support.requireAdmin, 'the admin check', route));
  if (definition.access === 'metrics-token') {
    chain.push(required(support.requireMetricsToken, 'the metrics token check', route));
  }
  if (definition.access === 'hasura') throw new Error(`${route} is served in front of Express`);
  return chain;
}

function parseInput(definition: RouteDefinition, req: Request): RouteInput<RouteDefinition> {
  let params: unknown;
  const { malformedParams } = definition;
  if (definition.params && malformedParams) {
    const parsed = definition.params.safeParse(req.params);
    if (!parsed.success) throw new AppError(malformedParams.code, { message: malformedParams.message });
    params = parsed.data;
  } else if (definition.params) {
    params = parseRequest(definition.params, req.params);
  }
  return {
    params,
    query: definition.query ? parseRequest(definition.query, queryParameters(req)) : undefined,
    body: definition.body ? parseRequest(definition.body.schema, req.body) : undefined,
  } as RouteInput<RouteDefinition>;
}

type Admitter = (rateLimits: RateLimits, req: Request, res: Response, body: unknown) => Promise<void>;

const admitters: Record<RateLimitedAction, Admitter> = {
  signup: (rateLimits, req) => rateLimits.admitSignup(req.ip),
  'login-without-password': (rateLimits, req) => rateLimits.admitLoginWithoutPassword(req.ip),
  'password-change': (rateLimits, req) => rateLimits.admitPasswordChange(req.ip),
  'password-reset': (rateLimits, req, _res, body) =>
    rateLimits.admitPasswordReset(req.ip, (body as { login?: string } | undefined)?.login),
  'email-verification': (rateLimits, req, res) => rateLimits.admitEmailVerification(req.ip, signedInUserId(res)),
};

/** The handler behind the guards: input parsed, the rate limit admitted, and the outcome counted. */
function handlerOf(
  definition: RouteDefinition,
  handler: RouteHandler<RouteDefinition>,
  support: RouteSupport,
  route: string,
): RequestHandler {
  const { rateLimit, countedAs } = definition;
  const rateLimits = rateLimit && required(support.rateLimits, 'the rate limits', route);
  const metrics = countedAs && required(support.metrics, 'the metrics', route);
  const handle = async (req: Request, res: Response) => {
    const input = parseInput(definition, req);
    // After the input is checked, so that a malformed request costs the client no attempt.
    if (rateLimit && rateLimits) await admitters[rateLimit](rateLimits, req, res, input.body);
    await handler(req, res, input);
  };
  if (!countedAs || !metrics) return handle;
  return async (req, res) => {
    try {
      await handle(req, res);
      metrics.countOutcome(countedAs, 'success');
    } catch (error) {
      metrics.countOutcome(countedAs, accountOutcomeOf(error));
      throw error;
    }
  };
}

const expressPath = (path: string) => path.replace(/\{(\w+)\}/g, ':$1');

/** The Express router that serves a group of routes, each behind the guards its definition names. */
export function routerFor<G extends RouteDefinitions>(
  definitions: G,
  handlers: RouteHandlers<G>,
  support: RouteSupport = {},
): Router {
  const router = Router();
  for (const [operationId, definition] of Object.entries(definitions)) {
    const handler = handlers[operationId] as RouteHandler<RouteDefinition>;
    router[definition.method](
      expressPath(definition.path),
      ...guardsOf(definition, support, operationId),
      handlerOf(definition, handler, support, operationId),
    );
  }
  return router;
}
