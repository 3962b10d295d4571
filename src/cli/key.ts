import { randomBytes } from 'node:crypto';
import { hashKey, parseKeys } from '../schema/keys.js';

export const KEY_USAGE = `usage: logagg key new <name> <write|read|admin> [tenant]
       logagg key hash < file-holding-the-key
new   makes a random key (32 bytes, base64url) and prints it, then its line for KEYS_FILE (or KEYS):
      only the line goes into the file; the key itself is shown once and stored nowhere. tenant: * (default)
      or a tenant name (docs/tenants.md).
hash  prints sha256:<hex> of the key read from standard input (one trailing newline dropped), for a key
      made elsewhere. Reading it from stdin keeps it out of the shell history and the process list.`;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** `logagg key new|hash`: what an operator needs to write a key list (docs/tenants.md). */
export async function runKeyCommand(args: string[]): Promise<number> {
  const [action, name = '', role = '', tenant = '*', ...extra] = args;
  if (action === 'hash' && args.length === 1) {
    const key = await readStdin();
    if (key === '') {
      console.error('logagg key hash: no key on standard input');
      return 2;
    }
    console.log(`sha256:${hashKey(key)}`);
    return 0;
  }
  if (action === 'new' && extra.length === 0) {
    const key = randomBytes(32).toString('base64url');
    const line = `${name} ${role} ${tenant} sha256:${hashKey(key)}`;
    // The line is checked as the server will read it, so a typo in the role shows now and not at the next start.
    const { problems } = parseKeys(line, 'KEYS');
    if (problems.length > 0) {
      console.error(`logagg key new: ${problems.map((p) => p.replace(/^KEYS entry 1 /, '')).join('; ')}\n\n${KEY_USAGE}`);
      return 2;
    }
    console.log(`key:  ${key}\nline: ${line}`);
    return 0;
  }
  console.error(KEY_USAGE);
  return 2;
}
