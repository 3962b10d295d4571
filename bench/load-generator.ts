import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { planStream } from '../src/cli/publish-stream.js';
import { latencySummary } from '../src/cli/percentiles.js';

// A lean HTTP/1.1 load generator for POSTs of events, run in its own process so that its CPU is never the server's.
// Every request is built into one buffer before the clock starts (head and body: one unique event, so each request
// is a real insert, or a batch of the publisher's stream with its re-sends), and each keep-alive connection sends
// one request, reads the whole answer, then sends the next (no pipelining). The answer is read with a minimal parser: status line, Content-Length, body. Node's own
// http client costs more CPU per request than the servers it is meant to measure (docs/performance.md).

export interface LoadOptions {
  /** Base URL of the server, http only. */
  url: string;
  path: string;
  connections: number;
  /** Requests sent (and answered) before the clock starts, on the same connections: JIT warm-up on both sides. */
  warmup: number;
  /** Requests timed. */
  requests: number;
  /** Names this run's events: `<prefix>-<n>` as event_id, topics `<prefix>.topic-<k>`. */
  prefix: string;
  topics: number;
  payloadBytes: number;
  /** Events per request (default 1: one event object as the body; more: a JSON array of them). */
  batch?: number;
  /** Share of the copies that are re-sends of an event already sent, placed as the publisher's stream places them. */
  dupRate?: number;
  /** A process whose CPU time over the timed phase is reported (the server under load); Linux /proc only. */
  cpuPid?: number;
}

export interface LoadReport {
  requests: number;
  elapsedMs: number;
  /** Wall-clock bounds of the timed phase (ms since the epoch), to combine generators that ran side by side. */
  startedAt: number;
  endedAt: number;
  /** Answered requests per second over the timed phase. */
  rate: number;
  p50: number;
  p99: number;
  /** Copies sent, warm-up included, and how many distinct events they hold: what /stats should count. */
  events: number;
  distinct: number;
  /** Answers by HTTP status, warm-up included. */
  statuses: Record<string, number>;
  /** CPU time of cpuPid per timed request, in µs: the steadier figure on a busy machine. */
  serverCpuUs: number;
  /** This generator's own CPU time per timed request, in µs. */
  generatorCpuUs: number;
}

// USER_HZ: the unit of utime and stime in /proc/<pid>/stat, 100 on every Linux architecture Node runs on.
const USER_HZ = 100;

/** CPU time (user + system) a process has used so far, in ms. */
function cpuMsOf(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / USER_HZ;
}

/** Every request of the run, head and body, one buffer each; the first `warmup` are the warm-up's. */
function buildRequests(options: LoadOptions): { requests: Buffer[]; events: number; distinct: number } {
  const { host } = new URL(options.url);
  const batch = options.batch ?? 1;
  const total = options.warmup + options.requests;
  const stream = planStream({
    ...options,
    events: total * batch,
    dupRate: options.dupRate ?? 0,
    seed: 42,
    batch,
    concurrency: options.connections,
    topicPrefix: options.prefix,
  });
  const bodyOf = (i: number): string => {
    if (batch === 1) return JSON.stringify(stream.eventAt(stream.order[i] as number));
    return JSON.stringify(Array.from(stream.order.subarray(i * batch, (i + 1) * batch), (index) => stream.eventAt(index)));
  };
  const requests = Array.from({ length: total }, (_, i) => {
    const body = bodyOf(i);
    const head = `POST ${options.path} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
    return Buffer.from(head + body);
  });
  return { requests, events: total * batch, distinct: stream.distinct };
}

const HEAD_END = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /\r\ncontent-length:\s*(\d+)/i;

/**
 * One keep-alive connection: sends request `next()` after each complete answer until next() is undefined.
 * Resolves when it has nothing left to send; rejects on a socket error or an answer it cannot read.
 */
function runConnection(
  socket: Socket,
  next: () => number | undefined,
  send: (index: number) => Buffer,
  answered: (index: number, status: number) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let pending: Buffer | undefined;
    let current: number | undefined;
    const fail = (err: Error): void => {
      socket.removeAllListeners('data');
      reject(err);
    };
    const sendNext = (): void => {
      current = next();
      if (current === undefined) {
        socket.removeAllListeners('data');
        resolve();
        return;
      }
      socket.write(send(current));
    };
    socket.on('data', (chunk: Buffer) => {
      const data = pending ? Buffer.concat([pending, chunk]) : chunk;
      const headEnd = data.indexOf(HEAD_END);
      if (headEnd === -1) {
        pending = data;
        return;
      }
      const head = data.toString('latin1', 0, headEnd);
      const length = CONTENT_LENGTH.exec(head)?.[1];
      if (length === undefined) {
        fail(new Error(`an answer without Content-Length: ${head}`));
        return;
      }
      const end = headEnd + HEAD_END.length + Number(length);
      if (data.length < end) {
        pending = data;
        return;
      }
      if (data.length > end || current === undefined) {
        fail(new Error('more bytes than one answer: the server answered something not asked'));
        return;
      }
      pending = undefined;
      answered(current, Number(head.slice(9, 12)));
      sendNext();
    });
    socket.once('error', fail);
    socket.once('close', () => {
      if (current !== undefined) fail(new Error('the server closed a connection with a request in flight'));
    });
    sendNext();
  });
}

async function run(options: LoadOptions): Promise<LoadReport> {
  const { requests, events, distinct } = buildRequests(options);
  const { hostname, port } = new URL(options.url);
  const sockets = await Promise.all(
    Array.from(
      { length: options.connections },
      () =>
        new Promise<Socket>((resolve, reject) => {
          const socket = connect({ host: hostname, port: Number(port), noDelay: true }, () => resolve(socket));
          socket.once('error', reject);
        }),
    ),
  );
  const statuses: Record<string, number> = {};
  const sentAt = new Float64Array(requests.length);
  const latencies = new Float64Array(options.requests);
  const phase = async (from: number, to: number): Promise<void> => {
    let cursor = from;
    const next = (): number | undefined => (cursor < to ? cursor++ : undefined);
    const send = (index: number): Buffer => {
      sentAt[index] = performance.now();
      return requests[index] as Buffer;
    };
    const answered = (index: number, status: number): void => {
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (index >= options.warmup) latencies[index - options.warmup] = performance.now() - (sentAt[index] as number);
    };
    await Promise.all(sockets.map((socket) => runConnection(socket, next, send, answered)));
  };
  await phase(0, options.warmup);
  const serverCpuAt = cpuMsOf(options.cpuPid);
  const ownCpuAt = process.cpuUsage();
  const started = performance.now();
  await phase(options.warmup, requests.length);
  const elapsedMs = performance.now() - started;
  const ownCpu = process.cpuUsage(ownCpuAt);
  const serverCpuMs = cpuMsOf(options.cpuPid) - serverCpuAt;
  for (const socket of sockets) socket.destroy();
  const { p50, p99 } = latencySummary(latencies);
  return {
    requests: options.requests,
    elapsedMs,
    startedAt: performance.timeOrigin + started,
    endedAt: performance.timeOrigin + started + elapsedMs,
    rate: (options.requests / elapsedMs) * 1000,
    p50,
    p99,
    events,
    distinct,
    statuses,
    serverCpuUs: (serverCpuMs * 1000) / options.requests,
    generatorCpuUs: (ownCpu.user + ownCpu.system) / options.requests,
  };
}

const SELF = fileURLToPath(import.meta.url);

/** Runs the generator in a child process (node --import tsx) and returns its report. */
export function runLoad(options: LoadOptions): Promise<LoadReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', SELF, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-10_000)));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve(JSON.parse(stdout) as LoadReport);
      else reject(new Error(`load generator exited ${code}: ${stderr}`));
    });
  });
}

if (process.argv[1] === SELF) {
  run(JSON.parse(process.argv[2] ?? '{}') as LoadOptions).then(
    (report) => process.stdout.write(JSON.stringify(report)),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
