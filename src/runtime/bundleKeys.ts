/**
 * Ed25519 key files for signing trust roots and bundles.
 *
 *   <name>.key  {"type":"agentwarden-private-key","alg":"ed25519","keyid","role","label","createdAt","privateKey":"<PKCS#8 PEM>"}  mode 0600
 *   <name>.pub  {"type":"agentwarden-public-key","alg":"ed25519","keyid","role","label","createdAt","pub":"<base64url raw 32 bytes>"}
 *
 * The role is a label saying what the key is for (root, policy, exception, receipt); what a key may sign is
 * decided by the trust root that lists it. A private key can also come from an environment variable
 * (`env:NAME`, holding the .key file's JSON) for CI signers.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { keyidOf, rawPublicKey, type Role, type Signer } from '../core/bundle/envelope';
import { PrivateKeyFile, PublicKeyFile, zodMessage, type PrivateKeyFileDoc, type PublicKeyFileDoc } from '../core/bundle/schema';

export interface KeyPairFiles {
  privateFile: string;
  publicFile: string;
  keyid: string;
}

export function generateKeyPair(role: Role, label?: string, now = new Date()): { priv: PrivateKeyFileDoc; pub: PublicKeyFileDoc } {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
  const raw = rawPublicKey(publicKey);
  const keyid = keyidOf(raw);
  const createdAt = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const common = { alg: 'ed25519' as const, keyid, role, ...(label ? { label } : {}), createdAt };
  return {
    priv: { type: 'agentwarden-private-key', ...common, privateKey: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() },
    pub: { type: 'agentwarden-public-key', ...common, pub: raw.toString('base64url') },
  };
}

/** Write `<prefix>.key` (0600) and `<prefix>.pub`; refuses to overwrite unless `force`. */
export function writeKeyPair(prefix: string, role: Role, opts: { label?: string; force?: boolean } = {}): KeyPairFiles {
  const { priv, pub } = generateKeyPair(role, opts.label);
  const privateFile = `${prefix}.key`;
  const publicFile = `${prefix}.pub`;
  const flag = opts.force ? 'w' : 'wx';
  for (const f of [privateFile, publicFile]) {
    if (!opts.force && fs.existsSync(f)) throw new Error(`${f} already exists (use --force to overwrite)`);
  }
  fs.mkdirSync(path.dirname(path.resolve(privateFile)), { recursive: true, mode: 0o700 });
  const fd = fs.openSync(privateFile, flag, 0o600);
  try {
    fs.fchmodSync(fd, 0o600);
    fs.ftruncateSync(fd, 0);
    fs.writeSync(fd, JSON.stringify(priv, null, 2) + '\n');
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.writeFileSync(publicFile, JSON.stringify(pub, null, 2) + '\n', { flag, mode: 0o644 });
  return { privateFile, publicFile, keyid: priv.keyid };
}

export interface LoadedPrivateKey {
  doc: PrivateKeyFileDoc;
  signer: Signer;
  source: string;
}

function parseKeyJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: not a key file (${(e as Error).message})`);
  }
}

/** Read a private key file (or `env:NAME`). Checks the file is not readable by others and that the key id matches. */
export function readPrivateKey(ref: string, env: NodeJS.ProcessEnv = process.env): LoadedPrivateKey {
  let text: string;
  if (ref.startsWith('env:')) {
    const name = ref.slice(4);
    const v = env[name];
    if (!v) throw new Error(`${ref}: environment variable ${name} is not set`);
    text = v;
  } else {
    const st = fs.statSync(ref);
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
      throw new Error(`${ref}: private key is accessible by other users (mode ${(st.mode & 0o777).toString(8)}); run chmod 600 ${ref}`);
    }
    text = fs.readFileSync(ref, 'utf8');
  }
  const parsed = PrivateKeyFile.safeParse(parseKeyJson(text, ref));
  if (!parsed.success) throw new Error(`${ref}: not an Agent Warden private key file: ${zodMessage(parsed.error)}`);
  const privateKey = crypto.createPrivateKey({ key: parsed.data.privateKey, format: 'pem' });
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`${ref}: not an Ed25519 key`);
  const keyid = keyidOf(rawPublicKey(privateKey));
  if (keyid !== parsed.data.keyid) throw new Error(`${ref}: keyid ${parsed.data.keyid} does not match the key (${keyid})`);
  return { doc: parsed.data, signer: { keyid, privateKey }, source: ref };
}

export function readPublicKey(file: string): PublicKeyFileDoc & { raw: Buffer } {
  const parsed = PublicKeyFile.safeParse(parseKeyJson(fs.readFileSync(file, 'utf8'), file));
  if (!parsed.success) throw new Error(`${file}: not an Agent Warden public key file: ${zodMessage(parsed.error)}`);
  const raw = Buffer.from(parsed.data.pub, 'base64url');
  if (keyidOf(raw) !== parsed.data.keyid) throw new Error(`${file}: keyid ${parsed.data.keyid} is not the SHA-256 of the public key`);
  return { ...parsed.data, raw };
}
