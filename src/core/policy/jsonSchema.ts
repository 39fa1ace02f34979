/**
 * JSON Schemas generated from the zod schemas (the single source of truth) for editors: policy files
 * and policy test suites. `npm run schemas` writes them to schemas/; a test fails when they drift.
 */
import { z } from 'zod';
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
