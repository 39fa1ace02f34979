/**
 * The secret scrubber and the tool-input redactor. Secret formats and benign look-alikes are data:
 * test/cases/audit/secrets.json, one named test per vector.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { isSecretKey, redactToolInput, scrubAndClip, scrubSecrets, sha256Hex, utf8Prefix } from '../../src/core/audit/redact';

const ROOT = path.resolve(__dirname, '../../..');
type Text = string | string[];
interface SecretVector {
  name: string;
  text: Text;
  secret: Text;
  kind: string;
  keep?: Text;
}
const vectors = JSON.parse(fs.readFileSync(path.join(ROOT, 'test/cases/audit/secrets.json'), 'utf8')) as { secrets: SecretVector[]; benign: { name: string; text: Text }[] };
const join = (t: Text): string => (Array.isArray(t) ? t.join('') : t);

describe('audit redaction: secret scrubber vectors (test/cases/audit/secrets.json)', () => {
  for (const v of vectors.secrets) {
    it(`redacts: ${v.name}`, () => {
      const text = join(v.text);
      const secret = join(v.secret);
      assert.ok(text.includes(secret), 'vector: the secret must occur in the text');
      const r = scrubSecrets(text);
      assert.ok(!r.text.includes(secret), `secret survived: ${r.text}`);
      assert.ok(r.kinds.includes(v.kind), `expected kind ${v.kind}, got ${r.kinds.join(',')} (${r.text})`);
      assert.match(r.text, /\[REDACTED:[a-z-]+\]/);
      if (v.keep) assert.ok(r.text.includes(join(v.keep)), `context lost: ${r.text}`);
      assert.equal(scrubSecrets(r.text).text, r.text, 'scrubbing is idempotent');
    });
  }
  for (const v of vectors.benign) {
    it(`keeps: ${v.name}`, () => {
      const text = join(v.text);
      const r = scrubSecrets(text);
      assert.equal(r.text, text);
      assert.deepEqual(r.kinds, []);
    });
  }
});

describe('audit redaction: key names', () => {
  const cases: [string, boolean][] = [
    ['GITHUB_TOKEN', true], ['password', true], ['db.password', true], ['clientSecret', true], ['api_key', true], ['X-Api-Key', true],
    ['PGPASSWORD', true], ['refreshToken', true], ['aws_secret_access_key', true], ['sig', true],
    ['max_tokens', false], ['tokenizer', false], ['password_file', false], ['token_path', false], ['OLDPWD', false], ['PWD', false],
    ['bypass', false], ['monkey', false], ['keyboard', false], ['primary_key', false],
  ];
  for (const [k, want] of cases) it(`${k} → ${want}`, () => assert.equal(isSecretKey(k), want));
});

describe('audit redaction: clipping', () => {
  it('keeps at most maxBytes UTF-8 bytes and never splits a character', () => {
    const s = 'é'.repeat(3000) + '😀'.repeat(10);
    for (const max of [0, 1, 2, 3, 4095, 4096, 6001, 6002]) {
      const p = utf8Prefix(s, max);
      assert.ok(Buffer.byteLength(p) <= max);
      assert.ok(s.startsWith(p));
      assert.ok(!p.includes('\ufffd'));
    }
  });
  it('redacts a secret that straddles the cut instead of keeping half of it', () => {
    const key = ['AKIA', 'IOSFODNN7EXAMPLE'].join('');
    const s = 'x'.repeat(4090) + ' ' + key + ' tail';
    const c = scrubAndClip(s, 4096);
    assert.ok(Buffer.byteLength(c.text) <= 4096);
    assert.ok(c.truncated);
    assert.ok(!c.text.includes('AKIAIOS'), c.text.slice(-20));
    assert.ok(!c.text.includes('AKIA'), 'no prefix of the key survives');
  });
  it('a private key block that runs past the scanned window is redacted to the end', () => {
    const s = 'echo x; -----BEGIN RSA PRIVATE KEY-----\n' + 'A'.repeat(100_000);
    const c = scrubAndClip(s, 4096);
    assert.ok(!c.text.includes('AAAA'));
    assert.ok(c.text.includes('[REDACTED:private-key]'));
  });
  it('property: scrubbing never lengthens a secret-free string and is idempotent', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        const once = scrubSecrets(s).text;
        assert.equal(scrubSecrets(once).text, once);
      }),
      { numRuns: 500 },
    );
  });
  it('property: a token embedded anywhere is redacted', () => {
    const token = ['ghp_', 'FAKE0test9Fake8TEST7fake6FAKE0test9F'].join('');
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), fc.string({ maxLength: 80 }), (a, b) => {
        const r = scrubSecrets(`${a} ${token} ${b}`);
        assert.ok(!r.text.includes(token));
      }),
      { numRuns: 300 },
    );
  });
});

describe('audit redaction: tool inputs', () => {
  const content = 'FILE-CONTENT-MARKER ' + 'z'.repeat(5000);
  it('Write content is never stored: sha256 + byte count, pointer listed', () => {
    const r = redactToolInput('Write', { file_path: '/p/a.ts', content });
    assert.deepEqual(r.erased, ['/content']);
    assert.deepEqual(r.input, { file_path: '/p/a.ts', content: { erased: true, sha256: sha256Hex(content), bytes: Buffer.byteLength(content) } });
    assert.ok(!JSON.stringify(r.input).includes('FILE-CONTENT-MARKER'));
  });
  it('Edit old/new strings, MultiEdit edits and NotebookEdit sources are erased', () => {
    const e = redactToolInput('Edit', { file_path: '/a', old_string: 'OLD-MARK', new_string: 'NEW-MARK', replace_all: false });
    assert.deepEqual(e.erased, ['/old_string', '/new_string']);
    const m = redactToolInput('MultiEdit', { file_path: '/a', edits: [{ old_string: 'OLD-MARK', new_string: 'NEW-MARK' }, { old_string: 'O2', new_string: 'N2' }] });
    assert.deepEqual(m.erased, ['/edits/0/old_string', '/edits/0/new_string', '/edits/1/old_string', '/edits/1/new_string']);
    const n = redactToolInput('NotebookEdit', { notebook_path: '/n.ipynb', new_source: 'print("NB-MARK")', cell_type: 'code' });
    assert.deepEqual(n.erased, ['/new_source']);
    for (const r of [e, m, n]) assert.ok(!/MARK/.test(JSON.stringify(r.input)), JSON.stringify(r.input));
    assert.equal((e.input as Record<string, unknown>).file_path, '/a');
  });
  it('MCP tools that write files have their content erased too', () => {
    const r = redactToolInput('mcp__filesystem__write_file', { path: '/x', content: 'MCP-MARK' });
    assert.deepEqual(r.erased, ['/content']);
    assert.ok(!JSON.stringify(r.input).includes('MCP-MARK'));
  });
  it('TodoWrite todo texts are not file contents and stay', () => {
    const r = redactToolInput('TodoWrite', { todos: [{ content: 'write tests', status: 'pending', activeForm: 'Writing tests' }] });
    assert.deepEqual(r.erased, []);
    assert.equal((r.input as { todos: { content: string }[] }).todos[0]!.content, 'write tests');
  });
  it('policy erase pointers (with * for any one segment) erase values and are listed', () => {
    const r = redactToolInput('WebFetch', { url: 'https://internal.example/x', prompt: 'p', headers: [{ v: 'A' }, { v: 'B' }] }, ['/url', '/headers/*/v']);
    assert.deepEqual(r.erased, ['/url', '/headers/0/v', '/headers/1/v']);
    assert.equal((r.input as { prompt: string }).prompt, 'p');
    assert.throws(() => redactToolInput('X', {}, ['url']), /must start with/);
  });
  it('a JSON pointer escapes ~ and / in keys', () => {
    const r = redactToolInput('X', { 'a/b': { '~c': 1 } }, ['/a~1b/~0c']);
    assert.deepEqual(r.erased, ['/a~1b/~0c']);
  });
  it('Bash command keeps 4 KiB, scrubbed; other long strings are cut too', () => {
    const cmd = 'echo ' + 'y'.repeat(10_000);
    const r = redactToolInput('Bash', { command: cmd, description: 'd'.repeat(9000) });
    const o = r.input as { command: string; description: string };
    assert.equal(Buffer.byteLength(o.command), 4096);
    assert.ok(Buffer.byteLength(o.description) <= 4096);
    assert.equal(r.truncated, true);
    const s = redactToolInput('Bash', { command: 'curl -u bob:hunter22 https://x' });
    assert.equal((s.input as { command: string }).command, 'curl -u bob:[REDACTED:basic-auth] https://x');
    assert.deepEqual(s.redactions, ['basic-auth']);
  });
  it('wide and deep inputs are bounded', () => {
    const wide = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, i]));
    const r = redactToolInput('mcp__x__y', { wide, list: Array.from({ length: 500 }, (_, i) => i) });
    const o = r.input as { wide: object; list: unknown[] };
    assert.equal(Object.keys(o.wide).length, 100);
    assert.equal(o.list.length, 100);
    assert.equal(r.truncated, true);
    let deep: unknown = 'bottom';
    for (let i = 0; i < 40; i++) deep = { d: deep };
    const d = redactToolInput('mcp__x__y', deep);
    assert.equal(d.truncated, true);
    assert.ok(JSON.stringify(d.input).length < 2000);
  });
});
