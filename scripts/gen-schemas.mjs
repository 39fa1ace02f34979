// Writes the generated files: schemas/*.json and docs/policy-reference.md from the zod schemas, docs/cli.md
// from the commands' --help texts (run through `npm run schemas`, after tsc; tests fail when they drift).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const require = createRequire(import.meta.url);
const { SCHEMA_FILES, jsonSchemaText, REFERENCE_FILE, policyReferenceText } = require(path.join(root, 'out/src/core/policy/jsonSchema.js'));
for (const name of Object.keys(SCHEMA_FILES)) {
  const file = path.join(root, 'schemas', name);
  fs.writeFileSync(file, jsonSchemaText(name));
  console.log(`wrote ${path.relative(root, file)}`);
}
const ref = path.join(root, REFERENCE_FILE);
fs.mkdirSync(path.dirname(ref), { recursive: true });
fs.writeFileSync(ref, policyReferenceText());
console.log(`wrote ${REFERENCE_FILE}`);
const { CLI_REFERENCE_FILE, cliReferenceText } = require(path.join(root, 'out/src/cli/reference.js'));
fs.writeFileSync(path.join(root, CLI_REFERENCE_FILE), cliReferenceText());
console.log(`wrote ${CLI_REFERENCE_FILE}`);
