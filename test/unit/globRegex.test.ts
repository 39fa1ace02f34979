/**
 * The hook's own glob compiler must agree with minimatch (dot: true) on every path — checked by a
 * differential property test over generated globs and paths — and glob intersection must be sound.
 */
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { minimatch } from 'minimatch';
import { absoluteGlob, GlobSet, globsIntersect, requiredLiterals } from '../../src/core/paths/glob';
import { braces, globRegExps } from '../../src/core/paths/globRegex';

const mine = (glob: string, p: string): boolean => globRegExps(glob, false).some((r) => r.test(p));

/**
 * minimatch, plus our one documented extension: a trailing `/**` also matches the directory itself.
 * A leading globstar is anchored at the root: otherwise minimatch lets a `*` segment right after it match
 * the empty segment before the first slash of an absolute path, which policies never mean.
 */
const reference = (glob: string, p: string): boolean => {
  const g = glob.startsWith('**/') ? `/${glob}` : glob;
  return minimatch(p, g, { dot: true }) || (g.endsWith('/**') && minimatch(p, g.replace(/(\/\*\*)+$/, '') || '/', { dot: true }));
};

const segChar = fc.constantFrom('a', 'b', '.', '-', '_', 'x');
const literalSeg = fc.string({ unit: segChar, minLength: 1, maxLength: 4 }).filter((s: string) => s !== '.' && s !== '..');
const globSeg = fc.oneof(
  literalSeg,
  fc.constant('*'),
  fc.constant('**'),
  fc.tuple(literalSeg, fc.constantFrom('*', '?')).map(([a, b]) => a + b),
  fc.tuple(fc.constantFrom('*', '?'), literalSeg).map(([a, b]) => a + b),
  fc.tuple(literalSeg, literalSeg).map(([a, b]) => `{${a},${b}}`),
  fc.constantFrom('[ab]', '[!a]', '.*', '*.x'),
);
// Policy globs are always absolute or start with `**` once compiled (see absoluteGlob); paths are absolute.
const glob = fc.tuple(fc.boolean(), fc.array(globSeg, { minLength: 1, maxLength: 5 })).map(([abs, segs]) => (abs ? '/' : '**/') + segs.join('/'));
const pathArb = fc.array(literalSeg, { minLength: 1, maxLength: 6 }).map((segs) => '/' + segs.join('/'));

describe('glob compiler', () => {
  it('agrees with minimatch on generated globs and paths', () => {
    fc.assert(
      fc.property(glob, pathArb, (g, p) => {
        assert.equal(mine(g, p), reference(g, p), `glob ${g} on ${p}`);
      }),
      { numRuns: 20000 },
    );
  });

  it('the literal pre-filter never passes over a glob that matches (GlobSet.test agrees with the regexes)', () => {
    const vars = { HOME: '/h', WORKSPACE: '/w', STATE_DIR: '/s', CLAUDE_DIR: '/c', TMPDIR: '/t' };
    fc.assert(
      fc.property(glob, pathArb, fc.boolean(), (g, p, ci) => {
        const path = ci ? p.replace(/a/g, 'A') : p;
        const want = globRegExps(ci ? g.toLowerCase() : g, ci).some((r) => r.test(ci ? path.toLowerCase() : path));
        if (want) for (const alt of braces(g)) if (mine(alt, p)) for (const l of requiredLiterals(alt)) assert.ok(p.includes(l), `${alt}: ${l} not in ${p}`);
        assert.equal(new GlobSet([g], vars, { caseInsensitive: ci }).test(path) !== undefined, want, `glob ${g} on ${path} (case-insensitive: ${ci})`);
      }),
      { numRuns: 20000 },
    );
  });

  it('the gates on policy sources (~, ${VAR}, relative globs) never pass over a glob that matches', () => {
    const vars = { HOME: '/a/b', WORKSPACE: '/a/x', STATE_DIR: '/s', CLAUDE_DIR: '/c', TMPDIR: '/t' };
    const policyGlob = fc.tuple(fc.constantFrom('/', '**/', '~/', '${HOME}/', '${WORKSPACE}/', '', './'), fc.array(globSeg, { minLength: 1, maxLength: 4 })).map(([pre, segs]) => pre + segs.join('/'));
    const homeish = fc.tuple(fc.constantFrom('/a/b', '/a/x', '/a', ''), pathArb).map(([pre, p]) => pre + p);
    fc.assert(
      fc.property(policyGlob, homeish, (g, p) => {
        const want = globRegExps(absoluteGlob(g, vars), false).some((r) => r.test(p));
        assert.equal(new GlobSet([g], vars, { caseInsensitive: false }).test(p) !== undefined, want, `glob ${g} on ${p}`);
      }),
      { numRuns: 20000 },
    );
  });

  it('required literals: the text between wildcards, without end slashes; none for escapes and groups', () => {
    assert.deepEqual(requiredLiterals('/home/u/.ssh/**'), ['home/u/.ssh']);
    assert.deepEqual(requiredLiterals('**/.env.*'), ['.env.']);
    assert.deepEqual(requiredLiterals('**/id_[rd]sa*'), ['id_', 'sa']);
    assert.deepEqual(requiredLiterals('/a/[]x]/b'), ['a', 'b']);
    assert.deepEqual(requiredLiterals('/a/\\*x'), []);
    assert.deepEqual(requiredLiterals('/a/+(b|c)'), []);
  });

  const table: [string, string, boolean][] = [
    ['**/.env', '/home/u/p/.env', true],
    ['**/.env', '/.env', true],
    ['**/.env', '/home/u/p/.env.local', false],
    ['**/.env.*', '/home/u/p/.env.local', true],
    ['/home/u/.ssh/**', '/home/u/.ssh', true],
    ['/home/u/.ssh/**', '/home/u/.ssh/id_rsa', true],
    ['/home/u/.ssh/**', '/home/u/.sshx', false],
    ['/dev/sd*', '/dev/sda1', true],
    ['/dev/sd*', '/dev/sd/x', false],
    ['**/*.pem', '/a/b/key.pem', true],
    ['/a/{b,c}/d', '/a/c/d', true],
    ['/a/[!x]y', '/a/xy', false],
    ['/home/*/x', '/home/u/v/x', false],
  ];
  for (const [g, p, want] of table) it(`${g} ${want ? 'matches' : 'does not match'} ${p}`, () => assert.equal(mine(g, p), want));

  it('expands braces, nested and escaped', () => {
    assert.deepEqual(braces('/a/{b,c{d,e}}/f'), ['/a/b/f', '/a/cd/f', '/a/ce/f']);
    assert.deepEqual(braces('/a/\\{b,c}'), ['/a/\\{b,c}']);
    assert.deepEqual(braces('/a/{b}'), ['/a/{b}']);
  });
});

describe('glob intersection', () => {
  const cases: [string, string, boolean, boolean][] = [
    // rule glob, fact pattern, fact `*` may match a leading dot, expected
    ['**/.env', '/ws/.e*', false, true],
    ['**/.env', '/ws/*', false, false],
    ['**/.env', '/ws/*', true, true],
    ['**/.env', '/ws/**/.env', true, true],
    ['**/.env.*', '/ws/**/*.local', true, true],
    ['/home/u/.ssh/**', '/home/u/**', false, true],
    ['/home/u/.ssh/**', '/home/v/**', false, false],
    ['**/id_rsa', '/**/id_*', true, true],
    ['**/id_rsa', '/**/*.pub', true, false],
    ['/etc/**', '/etc/*.conf', false, true],
    ['/etc/**', '/opt/*.conf', false, false],
    ['**/*.pem', '/ws/[ck]ey.pem', false, true],
  ];
  for (const [a, b, dot, want] of cases) {
    it(`${a} ∩ ${b}${dot ? ' (dotfiles)' : ''} is ${want ? 'non-empty' : 'empty'}`, () => assert.equal(globsIntersect(a, b, !dot), want));
  }

  it('is sound: whenever a concrete path matches both globs, they intersect', () => {
    fc.assert(
      fc.property(glob, glob, pathArb, (a, b, p) => {
        const ga = a;
        const gb = b;
        const path = p;
        if (!mine(ga, path) || !mine(gb, path)) return;
        const fa = braces(ga);
        const fb = braces(gb);
        assert.ok(fa.some((x) => fb.some((y) => globsIntersect(x, y, false))), `${ga} ∩ ${gb} should contain ${path}`);
      }),
      { numRuns: 20000 },
    );
  });

  it('GlobSet.testTree: anchored globs match inside a tree, unanchored ones only the tree itself', () => {
    const vars = { HOME: '/home/u', WORKSPACE: '/home/u/p', STATE_DIR: '/home/u/.agent-warden', CLAUDE_DIR: '/home/u/.claude', TMPDIR: '/tmp' };
    const set = new GlobSet(['~/.ssh/**', '**/.env'], vars, { caseInsensitive: false });
    assert.equal(set.testTree('/home/u'), '~/.ssh/**');
    assert.equal(set.testTree('/home/u/p'), undefined);
    assert.equal(set.testTree('/home/u/p/.env'), '**/.env');
  });
});
