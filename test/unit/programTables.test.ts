/**
 * Every program the analyser's tables know, run through the analyser with typical and odd arguments: no
 * table entry may crash it (a crash is a denial of every command line that mentions the program).
 */
import * as assert from 'node:assert/strict';
import { analyzeShell } from '../../src/core/shell/analyze';
import { knownPrograms } from '../../src/core/shell/programs';

const env = { home: '/home/dev', user: 'dev', platform: 'linux' as const, cwd: '/home/dev/project', vars: { HOME: '/home/dev', CLAUDE_PROJECT_DIR: '/home/dev/project' } };

const ARGS = ['', '/dev/sda1', '--help', '-x', '-- a b', 'a b c d', '-a -b -c x y', 'run x', 'exec -c "echo hi"', '"$X" $(cat y)', "--call 'ls' ::: a", '-o /tmp/o -f f.txt .'];

/** The spellings a program reaches the tables under: its name, a path to it, a versioned name. */
function spellings(name: string): string[] {
  const out = [name];
  if (/^[\w.+-]+$/.test(name)) out.push(`/usr/bin/${name}`);
  if (/\d$/.test(name)) out.push(`${name}.11`);
  if (/^(node|nodejs|perl|ruby|php|lua)$/.test(name)) out.push(`${name}20`);
  return out;
}

describe('program tables', () => {
  const names = knownPrograms();

  it('knows a few hundred programs', () => {
    assert.ok(names.length > 200, `only ${names.length} programs`);
  });

  for (const name of names) {
    it(`analyses ${name} without crashing`, () => {
      const quoted = /^[\w./+-]+$/.test(name) ? name : `'${name.replace(/'/g, `'\\''`)}'`;
      for (const spelled of spellings(quoted)) {
        for (const args of ARGS) {
          const cmd = `${spelled} ${args}`.trim();
          for (const line of [cmd, `sudo ${cmd}`, `echo x | ${cmd}`]) {
            assert.doesNotThrow(() => analyzeShell(line, env), line);
          }
        }
      }
    });
  }

  for (const name of ['mkfs.minix', 'mkfs.anything', 'newfs_msdos', 'docker-credential-pass', 'pip3.12', 'python3.13', 'gradlew', './gradlew']) {
    it(`analyses family member ${name} without crashing`, () => {
      for (const args of ARGS) assert.doesNotThrow(() => analyzeShell(`${name} ${args}`, env));
    });
  }
});
