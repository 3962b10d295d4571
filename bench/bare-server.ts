import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';

// The ceiling a single-event figure is held to: a bare node:http server that reads each body, parses it as JSON
// and answers 200 with a body of the size POST /publish answers. No validation, no store: what Node's HTTP
// stack and JSON.parse cost per request on this machine, measured by the same generator in the same run.

const ANSWER = JSON.stringify({ received: 1, unique: 1, duplicates: 0 });

function serve(): void {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      try {
        JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        res.writeHead(400).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(ANSWER) });
      res.end(ANSWER);
    });
  });
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    process.stdout.write(`${typeof address === 'object' && address ? address.port : 0}\n`);
  });
  process.once('SIGTERM', () => {
    server.closeAllConnections();
    server.close();
  });
}

const SELF = fileURLToPath(import.meta.url);

/** Starts the bare server in its own process; resolves with its URL once it listens. */
export function startBareServer(nodeArgs: readonly string[] = []): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', SELF], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    void exited.then(() => reject(new Error('the bare server exited before it listened')));
    child.stdout.once('data', (chunk: Buffer) =>
      resolve({
        url: `http://127.0.0.1:${chunk.toString().trim()}`,
        pid: child.pid as number,
        async stop() {
          child.kill('SIGTERM');
          await exited;
        },
      }),
    );
  });
}

if (process.argv[1] === SELF) serve();
