/**
 * The server's trust chain: the anchor it is configured with (out of band, like every client's) and the
 * rotations an administrator published after it (`PUT /v1/admin/trust`), stored in `trust_docs` and
 * re-verified at every start. Bundles are accepted, and grants and receipts signed, only under it.
 */
import { parseTrustPayload } from '../core/bundle/schema';
import { openAnchor, openRotation, trustExpired, type Trust } from '../core/bundle/trust';
import { sha256Hex } from '../core/bundle/envelope';
import { BundleError } from '../core/bundle/errors';
import type { Db } from './db';
import { httpError } from './util';

export class TrustState {
  private chain: Trust[] = [];
  private envelopes = new Map<number, Buffer>();

  private constructor(private readonly db: Db) {}

  /** Load the anchor and every stored rotation after it (each verified). */
  static async load(db: Db, anchor: Buffer | undefined, now: number): Promise<TrustState> {
    const s = new TrustState(db);
    if (!anchor) return s;
    let t: Trust;
    try {
      t = openAnchor(anchor, sha256Hex(anchor), parseTrustPayload, now);
    } catch (e) {
      throw new Error(`the configured trust root does not verify: ${(e as Error).message}`);
    }
    s.chain = [t];
    s.envelopes.set(t.version, anchor);
    const foreign = await db.get<{ version: number; tenant: string }>('SELECT version, tenant FROM trust_docs WHERE tenant <> ? ORDER BY version LIMIT 1', [t.tenant]);
    if (foreign) throw new Error(`the database holds trust v${foreign.version} of tenant ${JSON.stringify(foreign.tenant)}, but the configured root is for ${JSON.stringify(t.tenant)}: a database of another deployment?`);
    // Started with a newer root than the database has seen: it must be the rotation of the one before it.
    const before = await db.get<{ envelope: string }>('SELECT envelope FROM trust_docs WHERE version = ?', [t.version - 1]);
    if (before) {
      const prevBytes = Buffer.from(before.envelope, 'utf8');
      try {
        const prev = openAnchor(prevBytes, sha256Hex(prevBytes), parseTrustPayload, null);
        openRotation(anchor, sha256Hex(anchor), prev, parseTrustPayload, null);
      } catch (e) {
        throw new Error(`the configured trust root v${t.version} is not a rotation of the database's trust v${t.version - 1}: ${(e as Error).message}`);
      }
    }
    await db.run('INSERT INTO trust_docs (version, tenant, sha256, envelope, published_by, published_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING', [t.version, t.tenant, t.sha256, anchor.toString('utf8'), 'configuration', now]);
    const stored = await db.get<{ sha256: string }>('SELECT sha256 FROM trust_docs WHERE version = ?', [t.version]);
    if (stored && stored.sha256 !== t.sha256) throw new Error(`the database holds another trust v${t.version} than the configured root (sha256 ${stored.sha256.slice(0, 16)}…): a database of another deployment?`);
    const rows = await db.all<{ version: number; envelope: string }>('SELECT version, envelope FROM trust_docs WHERE version > ? ORDER BY version', [t.version]);
    for (const r of rows) {
      const bytes = Buffer.from(r.envelope, 'utf8');
      try {
        t = openRotation(bytes, sha256Hex(bytes), t, parseTrustPayload, null);
      } catch (e) {
        throw new Error(`stored trust v${r.version} does not chain to the configured root: ${(e as Error).message}`);
      }
      s.chain.push(t);
      s.envelopes.set(t.version, bytes);
    }
    return s;
  }

  get configured(): boolean {
    return this.chain.length > 0;
  }

  /** The newest trust. Throws 503 when the server has no trust root. */
  current(): Trust {
    const t = this.chain[this.chain.length - 1];
    if (!t) throw httpError(503, 'no-trust', 'this server has no trust root configured (start it with --trust-root)');
    return t;
  }

  get tenant(): string | undefined {
    return this.chain[0]?.tenant;
  }

  envelope(version: number | 'latest'): Buffer | undefined {
    if (version === 'latest') return this.chain.length ? this.envelopes.get(this.current().version) : undefined;
    return this.envelopes.get(version);
  }

  /** Accept the next rotation (threshold of the current root keys and of its own; version exactly +1). */
  async rotate(bytes: Buffer, principal: string, now: number): Promise<Trust> {
    const cur = this.current();
    let next: Trust;
    try {
      next = openRotation(bytes, sha256Hex(bytes), cur, parseTrustPayload, now);
    } catch (e) {
      if (e instanceof BundleError) throw httpError(e.code === 'trust-rollback' || e.code === 'trust-version-gap' ? 409 : 422, e.code, e.message);
      throw e;
    }
    if (trustExpired(next, now)) throw httpError(422, 'trust-expired', `trust v${next.version} has expired`);
    const r = await this.db.run('INSERT INTO trust_docs (version, tenant, sha256, envelope, published_by, published_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING', [next.version, next.tenant, next.sha256, bytes.toString('utf8'), principal, now]);
    if (r.changes !== 1) throw httpError(409, 'trust-conflict', `trust v${next.version} was published concurrently`);
    this.chain.push(next);
    this.envelopes.set(next.version, bytes);
    return next;
  }
}
