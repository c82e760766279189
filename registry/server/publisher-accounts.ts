import { createHash, createPublicKey, randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import { KernelError, isKernelError } from '@kern/sdk';
import { keyIdOf } from '../package-format/package-signing';
import { PublisherKey } from '../registry-api';
import { openRegistryDatabase } from './registry-database';
import { REGISTRY_ERROR_CODES, unauthenticated } from './registry-status';

/** A publisher: who may publish, with the Ed25519 key its signatures must verify against. */
export interface Publisher {
  name: string;
  keyId: string;
  /** SPKI PEM. */
  publicKey: string;
  createdAt: string;
}

export interface PublisherSummary extends Publisher {
  tokens: number;
  plugins: number;
}

/** Publisher names: lower-case DNS-label style, as plugin ids are. */
export const PUBLISHER_NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

const TOKEN_PREFIX = 'kreg_';

/** A new publisher token: 256 random bits, recognisable by its prefix. */
export function newPublisherToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** Only this is stored: a leaked database gives no usable tokens. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

interface PublisherRow {
  name: string;
  key_id: string;
  public_key: string;
  created_at: string;
}

function toPublisher(row: PublisherRow): Publisher {
  return { name: row.name, keyId: row.key_id, publicKey: row.public_key, createdAt: row.created_at };
}

/**
 * Publishers and their tokens, in the registry database. Used by the server
 * (authentication, `GET /v1/keys`) and by the local `kern registry
 * publisher|token` commands on the registry machine.
 */
export class PublisherAccounts {
  constructor(private readonly db: Database.Database, private readonly now: () => Date = () => new Date()) {}

  /** Registers a publisher with its public key and returns its first token (shown once, stored hashed). */
  add(name: string, publicKeyPem: string): { publisher: Publisher; token: string } {
    if (!PUBLISHER_NAME_PATTERN.test(name)) {
      throw new KernelError('Invalid', `publisher name ${JSON.stringify(name)}: use lower-case letters, digits and dashes (at most 63), e.g. acme-labs`, { field: 'name' });
    }
    const publicKey = canonicalPublicKey(publicKeyPem);
    const publisher: Publisher = { name, keyId: keyIdOf(publicKey), publicKey, createdAt: this.now().toISOString() };
    const token = newPublisherToken();
    this.db.transaction(() => {
      if (this.get(name)) {
        throw new KernelError('AlreadyExists', `publisher ${name} already exists: issue another token with \`kern registry token create --publisher ${name}\``, { field: 'name' });
      }
      this.db.prepare('INSERT INTO publishers (name, key_id, public_key, created_at) VALUES (?, ?, ?, ?)')
        .run(name, publisher.keyId, publisher.publicKey, publisher.createdAt);
      this.insertToken(name, token);
    }).immediate();
    return { publisher, token };
  }

  /** Issues another token for an existing publisher. */
  createToken(name: string): string {
    const token = newPublisherToken();
    this.db.transaction(() => {
      if (!this.get(name)) {
        throw new KernelError('NotFound', `publisher ${name} does not exist: register it first with \`kern registry publisher add ${name} --key publisher.pub\``, { field: '--publisher' });
      }
      this.insertToken(name, token);
    }).immediate();
    return token;
  }

  get(name: string): Publisher | undefined {
    const row = this.db.prepare('SELECT name, key_id, public_key, created_at FROM publishers WHERE name = ?').get(name) as PublisherRow | undefined;
    return row && toPublisher(row);
  }

  list(): PublisherSummary[] {
    const rows = this.db.prepare(`
      SELECT p.name, p.key_id, p.public_key, p.created_at,
        (SELECT COUNT(*) FROM tokens t WHERE t.publisher = p.name) AS tokens,
        (SELECT COUNT(*) FROM plugins g WHERE g.publisher = p.name) AS plugins
      FROM publishers p ORDER BY p.name`).all() as (PublisherRow & { tokens: number; plugins: number })[];
    return rows.map((r) => ({ ...toPublisher(r), tokens: r.tokens, plugins: r.plugins }));
  }

  /** `GET /v1/keys`. */
  keys(): PublisherKey[] {
    const rows = this.db.prepare('SELECT name, key_id, public_key, created_at FROM publishers ORDER BY name').all() as PublisherRow[];
    return rows.map(toPublisher).map((p) => ({ publisher: p.name, keyId: p.keyId, publicKey: p.publicKey }));
  }

  /** The publisher an `Authorization: Bearer <token>` header stands for; 401 otherwise. */
  authenticate(authorization: string | undefined): Publisher {
    if (!authorization) throw unauthenticated('missing publisher token', REGISTRY_ERROR_CODES.tokenMissing);
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!m) throw unauthenticated('the Authorization header is not "Bearer <token>"', REGISTRY_ERROR_CODES.tokenMissing);
    const row = this.db.prepare(`
      SELECT p.name, p.key_id, p.public_key, p.created_at FROM tokens t JOIN publishers p ON p.name = t.publisher
      WHERE t.sha256 = ?`).get(tokenHash(m[1])) as PublisherRow | undefined;
    if (!row) throw unauthenticated('the publisher token is not valid on this registry', REGISTRY_ERROR_CODES.tokenInvalid);
    return toPublisher(row);
  }

  private insertToken(name: string, token: string): void {
    this.db.prepare('INSERT INTO tokens (sha256, publisher, created_at) VALUES (?, ?, ?)')
      .run(tokenHash(token), name, this.now().toISOString());
  }
}

/** The key as SPKI PEM, whatever PEM flavour it came in; Invalid unless it is an Ed25519 public key. */
function canonicalPublicKey(pem: string): string {
  try {
    keyIdOf(pem);
  } catch (e) {
    if (isKernelError(e)) {
      throw new KernelError('Invalid', `${e.message} (give the publisher.pub that \`kern plugin keygen\` writes)`, { field: '--key', cause: e });
    }
    throw e;
  }
  return createPublicKey(pem).export({ type: 'spki', format: 'pem' }).toString();
}

/** Runs `fn` with the publishers of the registry in `dataDir`, closing the database after (the local CLI verbs). */
export function withPublisherAccounts<T>(dataDir: string, fn: (accounts: PublisherAccounts) => T): T {
  const db = openRegistryDatabase(dataDir);
  try {
    return fn(new PublisherAccounts(db));
  } finally {
    db.close();
  }
}
