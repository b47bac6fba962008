import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in for Hasura's GraphQL endpoint, written for the browser suite: it calls the webhook
 * exactly as Hasura does in GET mode (docs/hasura-webhook-contract.md) and answers the session
 * variables it got, so a test sees which user a browser request ran as.
 */

// Hasura forwards every client header except these (case-insensitive), then adds its own.
const HEADERS_HASURA_DROPS = new Set([
  'content-length',
  'content-md5',
  'user-agent',
  'host',
  'origin',
  'referer',
  'accept',
  'accept-encoding',
  'accept-language',
  'accept-datetime',
  'cache-control',
  'connection',
  'dnt',
  'content-type',
]);

function forwardedHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || HEADERS_HASURA_DROPS.has(name)) continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return {
    ...headers,
    'content-type': 'application/json',
    'user-agent': 'hasura-graphql-engine/v2.48.0',
    'accept-encoding': 'gzip',
  };
}

/** Closes a server, and the keep-alive connections a browser holds open to it. */
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export interface HasuraStandIn {
  url: string;
  /** The headers of every webhook call it made, in order. */
  webhookCalls: Record<string, string>[];
  close(): Promise<void>;
}

/** Starts the stand-in; CORS as HASURA_GRAPHQL_CORS_DOMAIN=appOrigin would serve it. */
export async function startHasuraStandIn(webhookUrl: string, appOrigin: string): Promise<HasuraStandIn> {
  const webhookCalls: Record<string, string>[] = [];

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('Access-Control-Allow-Origin', appOrigin);
    res.setHeader('Access-Control-Allow-Credentials', 'true');
    res.setHeader('Vary', 'Origin');
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', 'POST');
      res.setHeader('Access-Control-Allow-Headers', 'content-type');
      res.writeHead(204).end();
      return;
    }
    for await (const chunk of req) void chunk; // the GraphQL query itself does not matter here

    const headers = forwardedHeaders(req);
    webhookCalls.push(headers);
    const hook = await fetch(webhookUrl, { method: 'GET', headers });
    res.setHeader('Content-Type', 'application/json');
    if (hook.status === 200) {
      // Hasura copies every Set-Cookie of the webhook onto its successful answers, and only those.
      const cookies = hook.headers.getSetCookie();
      if (cookies.length > 0) res.setHeader('Set-Cookie', cookies);
      res.writeHead(200).end(JSON.stringify({ data: { session: await hook.json() } }));
    } else if (hook.status === 401) {
      // /v1/graphql turns the webhook's 401 into a 200 carrying an access-denied error.
      const error = { message: 'Authentication hook unauthorized this request', extensions: { code: 'access-denied' } };
      res.writeHead(200).end(JSON.stringify({ errors: [error] }));
    } else {
      res
        .writeHead(500)
        .end(JSON.stringify({ errors: [{ message: 'unexpected', extensions: { code: 'unexpected' } }] }));
    }
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      res.writeHead(502).end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    webhookCalls,
    close: () => closeServer(server),
  };
}

/** A server answering one HTML page at `/`, on 127.0.0.1; `host` is the name the browser uses for it. */
export async function servePage(
  host: string,
  render: () => string,
): Promise<{ origin: string; close(): Promise<void> }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(render());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://${host}:${port}`,
    close: () => closeServer(server),
  };
}
