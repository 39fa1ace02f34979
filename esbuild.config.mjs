// Bundles the three entry points:
//   dist/hook.js       the Claude Code hook runner (on every tool call's critical path: kept lean, lazy)
//   dist/cli.js        the `warden` CLI
//   dist/extension.js  the VS Code extension
// The built-in baseline policy is validated here and inlined, so the hook never parses YAML or loads zod
// for it. `--production` minifies; `--watch` rebuilds on change.
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');
const root = path.dirname(new URL(import.meta.url).pathname);

/** Validate policies/baseline.yaml with the project's own loader; a broken baseline fails the build. */
async function validatedBaseline() {
  const out = path.join(root, 'node_modules', '.cache', 'agent-warden', 'policy-loader.cjs');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  await esbuild.build({ entryPoints: [path.join(root, 'src/core/policy/load.ts')], bundle: true, platform: 'node', format: 'cjs', target: 'node20', outfile: out, logLevel: 'silent' });
  const require = createRequire(import.meta.url);
  delete require.cache[out];
  const { parsePolicy } = require(out);
  const file = path.join(root, 'policies', 'baseline.yaml');
  try {
    return parsePolicy(fs.readFileSync(file, 'utf8'), path.relative(process.cwd(), file));
  } catch (e) {
    console.error(String(e.message ?? e));
    process.exit(1);
  }
}

const baseline = await validatedBaseline();
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: production ? false : 'linked',
  minify: production,
  legalComments: 'none',
  logLevel: 'info',
  define: {
    // A JSON string parsed on first use: JSON.parse is much cheaper than compiling an object literal.
    __AW_BASELINE__: JSON.stringify(JSON.stringify(baseline)),
    __AW_VERSION__: JSON.stringify(pkg.version),
  },
};

/**
 * The hook loads the YAML/zod policy loader only for `--policy <file>`: it lives in its own bundle,
 * dist/policy-loader.js, so the hook's own script stays small (V8 compiles every byte it loads).
 */
const lazyLoader = {
  name: 'lazy-policy-loader',
  setup(build) {
    build.onResolve({ filter: /core\/policy\/load$/ }, () => ({ path: './policy-loader.js', external: true }));
  },
};

const builds = [
  // dist/hook.js is a small loader that runs dist/hook-main.js (the runner) from a V8 code cache (src/hook/loader.ts).
  { ...common, entryPoints: ['src/hook/entry.ts'], outfile: 'dist/hook-main.js', minify: true, plugins: [lazyLoader] },
  { ...common, entryPoints: ['src/hook/loader.ts'], outfile: 'dist/hook.js', banner: { js: '#!/usr/bin/env node' }, minify: true, sourcemap: false },
  { ...common, entryPoints: ['src/core/policy/load.ts'], outfile: 'dist/policy-loader.js', minify: true },
  // The server's native/optional database drivers stay out of the bundle: they are runtime dependencies
  // (package.json "dependencies") loaded only by `warden server`.
  { ...common, entryPoints: ['src/cli/entry.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' }, external: ['better-sqlite3', 'pg', 'pg-native'] },
  // The extension, minified (less for the extension host to parse at activation), in two files:
  // dist/extension.js, and dist/extension-deferred.js (src/extension/deferred.ts: sync, enrolment, forwarding,
  // policy tools; with zod) required on first use after activation. The YAML/zod policy loader is required from
  // dist/policy-loader.js.
  {
    ...common,
    entryPoints: { extension: 'src/extension/extension.ts', 'extension-deferred': 'src/extension/deferred.ts' },
    outdir: 'dist',
    external: ['vscode'],
    minify: true,
    plugins: [
      {
        name: 'extension-lazy-chunks',
        setup: (b) => {
          b.onResolve({ filter: /(^|\/)policy\/load$/ }, () => ({ path: './policy-loader.js', external: true }));
          b.onResolve({ filter: /^\.\/deferred$/ }, (a) => (a.importer.endsWith('lazy.ts') ? { path: './extension-deferred.js', external: true } : undefined));
        },
      },
    ],
  },
];

if (watch) {
  const contexts = await Promise.all(builds.map((b) => esbuild.context(b)));
  await Promise.all(contexts.map((c) => c.watch()));
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
  for (const f of ['dist/hook.js', 'dist/cli.js']) fs.chmodSync(f, 0o755);
}
