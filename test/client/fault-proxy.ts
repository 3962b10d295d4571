import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';

/** What the proxy does with one request. */
export type ProxyAction =
  | { kind: 'forward' }
  /** Forward after a pause: a slow server, so that a publisher's queue stays full for a while. */
  | { kind: 'delay'; ms: number }
  /** Forward, wait for the server's answer (so the request committed), then cut the connection: the answer is lost. */
  | { kind: 'lose-answer' }
  /** Never answer (the connection stays open until the proxy closes). */
  | { kind: 'hang' }
  /** Answer in the server's place, without forwarding. */
  | { kind: 'answer'; status: number; headers?: Record<string, string>; body: unknown };

export interface ProxiedRequest {
  method: string;
  path: string;
  body: string;
  /** performance.now() when the request was complete. */
  at: number;
  action: ProxyAction['kind'];
}

export interface FaultProxy {
  url: string;
  requests: ProxiedRequest[];
}

const FORWARDED_HEADERS = ['content-type', 'content-encoding', 'authorization', 'accept'];

async function forward(target: string, req: IncomingMessage, body: string): Promise<Response> {
  const headers: Record<string, string> = {};
  for (const name of FORWARDED_HEADERS) {
    const value = req.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  return fetch(new URL(req.url ?? '/', target), { method: req.method, headers, body: req.method === 'GET' ? undefined : body });
}

async function relay(res: ServerResponse, response: Response): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    if (name !== 'content-length' && name !== 'transfer-encoding' && name !== 'connection' && name !== 'keep-alive') headers[name] = value;
  });
  res.writeHead(response.status, headers);
  res.end(Buffer.from(await response.arrayBuffer()));
}

/**
 * A real HTTP proxy in front of a real server that can lose answers or answer in the server's place, decided per
 * request by `decide(n, path)` (n counts from 0 over all requests). Closed after the test.
 */
export async function startFaultProxy(
  t: TestContext,
  target: string,
  decide: (n: number, path: string) => ProxyAction,
): Promise<FaultProxy> {
  const requests: ProxiedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const path = req.url ?? '/';
      const action = decide(requests.length, path);
      requests.push({ method: req.method ?? 'GET', path, body, at: performance.now(), action: action.kind });
      const handle = async (): Promise<void> => {
        if (action.kind === 'hang') return;
        if (action.kind === 'answer') {
          res.writeHead(action.status, { 'content-type': 'application/json', ...action.headers });
          res.end(JSON.stringify(action.body));
          return;
        }
        if (action.kind === 'delay') await new Promise((resolve) => setTimeout(resolve, action.ms));
        const response = await forward(target, req, body);
        if (action.kind === 'lose-answer') {
          await response.arrayBuffer();
          req.socket.destroy();
          return;
        }
        await relay(res, response);
      };
      handle().catch((err: unknown) => res.destroy(err instanceof Error ? err : new Error(String(err))));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

/** Every POST /publish to be lost or answered as `first` for the first `count` of them, then forwarded. */
export function firstPublishes(count: number, first: ProxyAction): (n: number, path: string) => ProxyAction {
  let seen = 0;
  return (_n, path) => (path.startsWith('/publish') && seen++ < count ? first : { kind: 'forward' });
}
