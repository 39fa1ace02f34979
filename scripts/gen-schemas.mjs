// Writes schemas/*.json from the zod schemas (run through `npm run schemas`, after tsc).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const require = createRequire(import.meta.url);
const { SCHEMA_FILES, jsonSchemaText } = require(path.join(root, 'out/src/core/policy/jsonSchema.js'));
for (const name of Object.keys(SCHEMA_FILES)) {
  const file = path.join(root, 'schemas', name);
  fs.writeFileSync(file, jsonSchemaText(name));
  console.log(`wrote ${path.relative(root, file)}`);
}
