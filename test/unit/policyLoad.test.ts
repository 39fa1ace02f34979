/**
 * Policy loading: every invalid policy under test/cases/policies/invalid/ must fail with the
 * diagnostic its first line announces (`# expect: line:col: text`), as `warden validate` prints it.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatDiagnostic, parsePolicy, PolicyError } from '../../src/core/policy/load';
import { jsonSchemaText, policyReferenceText, REFERENCE_FILE, SCHEMA_FILES } from '../../src/core/policy/jsonSchema';

const ROOT = path.resolve(__dirname, '../../..');
const INVALID = path.join(ROOT, 'test/cases/policies/invalid');
const VALID = path.join(ROOT, 'test/cases/policies/valid');

describe('invalid policies report file:line:col', () => {
  for (const f of fs.readdirSync(INVALID).filter((x) => x.endsWith('.yaml')).sort()) {
    it(f, () => {
      const text = fs.readFileSync(path.join(INVALID, f), 'utf8');
      const m = /^# expect: (\d+):(\d+): (.*)$/.exec(text.split('\n')[0] ?? '');
      assert.ok(m, `${f} must start with "# expect: line:col: text"`);
      let error: unknown;
      try {
        parsePolicy(text, f);
      } catch (e) {
        error = e;
      }
      assert.ok(error instanceof PolicyError, `${f} was accepted`);
      const lines = error.diagnostics.map(formatDiagnostic);
      const want = `${f}:${m[1]}:${m[2]}: `;
      assert.ok(
        lines.some((l) => l.startsWith(want) && l.includes(m[3]!)),
        `expected a diagnostic "${want}…${m[3]}", got:\n${lines.join('\n')}`,
      );
    });
  }
});

describe('valid policies', () => {
  for (const f of [...fs.readdirSync(VALID).map((x) => path.join(VALID, x)), path.join(ROOT, 'policies/baseline.yaml')]) {
    it(path.basename(f), () => {
      const p = parsePolicy(fs.readFileSync(f, 'utf8'), f);
      assert.ok(p.rules.length > 0);
    });
  }
});

describe('generated JSON Schemas', () => {
  for (const name of Object.keys(SCHEMA_FILES) as (keyof typeof SCHEMA_FILES)[]) {
    it(`schemas/${name} matches the zod schema (run \`npm run schemas\` after changing it)`, () => {
      const onDisk = fs.readFileSync(path.join(ROOT, 'schemas', name), 'utf8');
      assert.equal(onDisk, jsonSchemaText(name));
    });
  }
  it(`${REFERENCE_FILE} matches the zod schema (run \`npm run schemas\` after changing it)`, () => {
    const onDisk = fs.readFileSync(path.join(ROOT, REFERENCE_FILE), 'utf8');
    assert.equal(onDisk, policyReferenceText());
    // Every field of a rule's match block is documented with its description.
    for (const field of ['tool', 'path', 'command', 'url', 'env', 'risk', 'context']) assert.match(onDisk, new RegExp(`\\| \`${field}\` \\|`), field);
  });
});

describe('warden validate (process)', () => {
  const cli = path.join(ROOT, 'dist/cli.js');
  it('prints file:line:col and exits 1 for a broken policy', () => {
    const file = path.join(INVALID, 'unknown-field.yaml');
    const r = spawnSync(process.execPath, [cli, 'validate', file], { encoding: 'utf8' });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:11:5: unknown field "efect"`, 'm'));
  });
  it('accepts the baseline and exits 0', () => {
    const r = spawnSync(process.execPath, [cli, 'validate', path.join(ROOT, 'policies/baseline.yaml')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /ok \(builtin:baseline/);
  });
  it('reports an unreadable file', () => {
    const r = spawnSync(process.execPath, [cli, 'validate', path.join(ROOT, 'no-such-policy.yaml')], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no-such-policy\.yaml:1:1: cannot read file: ENOENT/);
  });
});
