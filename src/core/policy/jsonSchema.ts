/**
 * JSON Schemas generated from the zod schemas (the single source of truth) for editors: policy files
 * and policy test suites. `npm run schemas` writes them to schemas/; a test fails when they drift.
 */
import { z } from 'zod';
import { policyReference } from './reference';
import { Policy, TestSuite } from './schema';

export const SCHEMA_FILES = {
  'policy.schema.json': { schema: Policy, id: 'https://agentwarden.dev/schemas/policy.schema.json', title: 'Agent Warden policy' },
  'policy-test.schema.json': { schema: TestSuite, id: 'https://agentwarden.dev/schemas/policy-test.schema.json', title: 'Agent Warden policy test suite' },
} as const;

export function jsonSchemaText(name: keyof typeof SCHEMA_FILES): string {
  const { schema, id, title } = SCHEMA_FILES[name];
  const json = z.toJSONSchema(schema, { target: 'draft-7', io: 'input', unrepresentable: 'any', reused: 'ref' }) as Record<string, unknown>;
  return JSON.stringify({ $id: id, title, ...json }, null, 2) + '\n';
}

export const REFERENCE_FILE = 'docs/policy-reference.md';

const REFERENCE_INTRO = `# Policy reference

Generated from the zod schemas by \`npm run schemas\` (the same source as \`schemas/*.json\`); do not edit by
hand. Policies and their test suites are YAML; editors validate them with the JSON Schemas, and
\`warden validate\` reports errors as \`file:line:col\`. The README's *Policies* section explains how rules
combine (any deny wins, then ask, then allow, then the default effect).`;

/** The policy reference document (markdown). */
export function policyReferenceText(): string {
  return policyReference(
    (Object.keys(SCHEMA_FILES) as (keyof typeof SCHEMA_FILES)[]).map((file) => ({ file, title: SCHEMA_FILES[file].title, schema: JSON.parse(jsonSchemaText(file)) as Record<string, unknown> })),
    REFERENCE_INTRO,
  );
}
