import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

/**
 * A plain TCP relay in front of a server, for tests that need the network to fail under a real client: cut()
 * drops every open connection (what a NAT timeout or a Wi-Fi switch looks like), and while held, new connections
 * wait unanswered until release(), so a test can make things happen "while the client is away".
 */
export interface TcpProxy {
  url: string;
  /** The first bytes each client connection sent (an HTTP request's line and headers), in arrival order. */
  heads: string[];
  /** Destroys every open connection on both sides; with `hold`, later connections wait for release(). */
  cut(options?: { hold?: boolean }): void;
  release(): void;
  /** Connections waiting for release(). */
  readonly waiting: number;
  close(): Promise<void>;
}

export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const { hostname, port } = new URL(target);
  const open = new Set<Socket>();
  let held: Socket[] | undefined;
  const heads: string[] = [];

  const relay = (client: Socket): void => {
    if (client.destroyed) return;
    const upstream = connect(Number(port), hostname);
    open.add(client).add(upstream);
    const forget = (): void => {
      open.delete(client);
      open.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.once('close', forget).once('error', forget);
    upstream.once('close', forget).once('error', forget);
    client.pipe(upstream);
    upstream.pipe(client);
  };

  const server = createServer((client) => {
    client.once('data', (chunk: Buffer) => heads.push(chunk.toString('latin1')));
    // Paused until relayed, so the head above is still forwarded by pipe().
    client.pause();
    if (held) held.push(client);
    else relay(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    heads,
    cut(options = {}) {
      if (options.hold) held ??= [];
      for (const socket of open) socket.destroy();
      open.clear();
    },
    release() {
      const waiting = held ?? [];
      held = undefined;
      for (const client of waiting) relay(client);
    },
    get waiting() {
      return held?.length ?? 0;
    },
    async close() {
      for (const socket of [...open, ...(held ?? [])]) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
