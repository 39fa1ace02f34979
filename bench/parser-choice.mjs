// How the shell parser was chosen, reproducibly: every command in the shell and decision corpora is
// checked with real Bash (`bash -n`), the project's parser, tree-sitter-bash (web-tree-sitter) and
// mvdan-sh; agreement with Bash and cold-start cost (load + first parse, in a fresh process) are reported.
//
// The candidates are not project dependencies. Install them beside the bench, then run:
//   npm install --prefix .bench/parsers web-tree-sitter@0.25 tree-sitter-bash@0.25 mvdan-sh@0.10
//   npm run build && npm run compile-tests && node bench/parser-choice.mjs
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { parse as parseYaml } from 'yaml';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const candidates = path.join(root, '.bench/parsers/node_modules');
const require = createRequire(import.meta.url);
const { parseShell } = require(path.join(root, 'out/src/core/shell/parse.js'));

function corpus() {
  const out = new Set();
  for (const dir of ['test/cases/shell', 'test/cases/decisions']) {
    for (const f of fs.readdirSync(path.join(root, dir)).filter((x) => x.endsWith('.yaml'))) {
      const doc = parseYaml(fs.readFileSync(path.join(root, dir, f), 'utf8'));
      for (const c of doc.cases ?? []) {
        if (typeof c.command === 'string') out.add(c.command);
        if (c.tool === 'Bash' && typeof c.input?.command === 'string') out.add(c.input.command);
      }
    }
  }
  return [...out];
}

const commands = corpus();
const bashOk = commands.map((c) => spawnSync('bash', ['-n', '-c', c], { stdio: 'ignore' }).status === 0);

const results = { commands: commands.length, bashAccepts: bashOk.filter(Boolean).length, parsers: {} };

function score(name, accepts) {
  let agree = 0;
  const disagreements = [];
  accepts.forEach((ok, i) => {
    if (ok === bashOk[i]) agree++;
    else if (disagreements.length < 8) disagreements.push({ command: commands[i], bash: bashOk[i], parser: ok });
  });
  results.parsers[name] = { ...(results.parsers[name] ?? {}), agreement: +(agree / commands.length).toFixed(4), disagreements };
}

score('own', commands.map((c) => {
  try {
    parseShell(c);
    return true;
  } catch {
    return false;
  }
}));

/** Cold start in a fresh process: require + init + first parse. */
function coldStart(script) {
  const samples = [];
  for (let i = 0; i < 7; i++) {
    const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    samples.push(Number(out.trim()));
  }
  samples.sort((a, b) => a - b);
  return +samples[3].toFixed(2);
}

const sample = JSON.stringify("git fetch && git pull && bash -c 'rm -rf ~' | tee x");
results.parsers.own = {
  ...results.parsers.own,
  coldStartMs: coldStart(`const t=process.hrtime.bigint();const {parseShell}=require(${JSON.stringify(path.join(root, 'out/src/core/shell/parse.js'))});parseShell(${sample});console.log(Number(process.hrtime.bigint()-t)/1e6)`),
  // The whole shell analyser (parser, expansion, analysis, program knowledge), not just the parser.
  loadedBytes: ['ast', 'parse', 'expand', 'options', 'analyze', 'programs'].reduce((n, m) => n + fs.statSync(path.join(root, `out/src/core/shell/${m}.js`)).size, 0),
};

const creq = createRequire(path.join(candidates, '..', 'package.json'));
if (fs.existsSync(path.join(candidates, 'web-tree-sitter'))) {
  const wasm = path.join(candidates, 'tree-sitter-bash/tree-sitter-bash.wasm');
  const tsPath = creq.resolve('web-tree-sitter');
  const { Parser, Language } = creq('web-tree-sitter');
  await Parser.init();
  const parser = new Parser();
  parser.setLanguage(await Language.load(wasm));
  score('tree-sitter-bash', commands.map((c) => !parser.parse(c).rootNode.hasError));
  results.parsers['tree-sitter-bash'].coldStartMs = coldStart(
    `(async()=>{const t=process.hrtime.bigint();const {Parser,Language}=require(${JSON.stringify(tsPath)});await Parser.init();const p=new Parser();p.setLanguage(await Language.load(${JSON.stringify(wasm)}));p.parse(${sample});console.log(Number(process.hrtime.bigint()-t)/1e6)})()`,
  );
  results.parsers['tree-sitter-bash'].loadedBytes = fs.statSync(wasm).size + fs.statSync(path.join(candidates, 'web-tree-sitter/tree-sitter.wasm')).size;
}

if (fs.existsSync(path.join(candidates, 'mvdan-sh'))) {
  const shPath = creq.resolve('mvdan-sh');
  const sh = creq('mvdan-sh');
  const p = sh.syntax.NewParser();
  score('mvdan-sh', commands.map((c) => {
    try {
      p.Parse(c, 'src');
      return true;
    } catch {
      return false;
    }
  }));
  results.parsers['mvdan-sh'].coldStartMs = coldStart(
    `const t=process.hrtime.bigint();const sh=require(${JSON.stringify(shPath)});sh.syntax.NewParser().Parse(${sample},'src');console.log(Number(process.hrtime.bigint()-t)/1e6)`,
  );
  results.parsers['mvdan-sh'].loadedBytes = fs.statSync(shPath).size;
}

console.log(`${results.commands} corpus commands; bash -n accepts ${results.bashAccepts}`);
console.log('parser              agreement with bash   cold start (ms)   code loaded (bytes)');
for (const [name, r] of Object.entries(results.parsers)) {
  console.log(`  ${name.padEnd(18)}${(r.agreement * 100).toFixed(2).padStart(8)} %${String(r.coldStartMs).padStart(20)}${String(r.loadedBytes).padStart(22)}`);
}
for (const [name, r] of Object.entries(results.parsers)) {
  if (!r.disagreements.length) continue;
  console.log(`\n${name} disagrees with bash on, e.g.:`);
  for (const d of r.disagreements) console.log(`  bash ${d.bash ? 'accepts' : 'rejects'}, parser ${d.parser ? 'accepts' : 'rejects'}: ${JSON.stringify(d.command).slice(0, 140)}`);
}
fs.mkdirSync(path.join(root, '.bench'), { recursive: true });
fs.writeFileSync(path.join(root, '.bench/parser-choice.json'), JSON.stringify(results, null, 2));
