import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { errors } from '@kern/sdk';

export interface Principal {
  name: string;
  /** Syscall patterns this principal may call; absent = all. */
  allowed?: string[];
}

/** Writes `content` to `file` readable by its owner only. */
export function writePrivateFile(file: string, content: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, content, { mode: 0o600 });
  chmodSync(file, 0o600);
}

/**
 * Bearer tokens. The admin token is made at first start and kept under the
 * data dir, so it survives restarts.
 */
export class Authenticator {
  /** Each token with its bytes, made once: every request compares against them. */
  private readonly tokens = new Map<string, { bytes: Buffer; principal: Principal }>();
  readonly adminToken: string;

  constructor(dataDir: string) {
    const file = join(dataDir, 'auth', 'admin.token');
    if (existsSync(file)) {
      this.adminToken = readFileSync(file, 'utf8').trim();
    } else {
      this.adminToken = randomBytes(32).toString('base64url');
      writePrivateFile(file, this.adminToken + '\n');
    }
    this.issue({ name: 'user:admin' }, this.adminToken);
  }

  /** Adds a token (e.g. for a node agent); returns it. */
  issue(principal: Principal, token = randomBytes(32).toString('base64url')): string {
    this.tokens.set(token, { bytes: Buffer.from(token), principal });
    return token;
  }

  /** The principal behind an `Authorization` header value; Unauthenticated otherwise. */
  authenticate(header: string | undefined): Principal {
    const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
    if (!m) throw errors.unauthenticated('missing bearer token: send "Authorization: Bearer <token>" (kern writes it to ~/.kern/config.json)');
    const given = Buffer.from(m[1]);
    for (const { bytes, principal } of this.tokens.values()) {
      if (bytes.length === given.length && timingSafeEqual(bytes, given)) return principal;
    }
    throw errors.unauthenticated('invalid bearer token');
  }
}
