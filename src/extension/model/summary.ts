/**
 * A short, one-line summary of a tool call for the Decisions tree, built from the audit event's tool input,
 * which the hook already redacted (file contents erased, secrets scrubbed). Pure.
 */
import { clip } from './format';

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** A value the audit record replaced by its hash and size. */
function isErased(v: unknown): boolean {
  return isObj(v) && v.erased === true;
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (isErased(v)) return '[erased]';
  return undefined;
}

/** Input keys that best describe a call, per tool, in order of preference. */
const KEYS: Record<string, string[]> = {
  Bash: ['command'],
  Read: ['file_path'],
  Write: ['file_path'],
  Edit: ['file_path'],
  MultiEdit: ['file_path'],
  NotebookEdit: ['notebook_path'],
  NotebookRead: ['notebook_path'],
  Glob: ['pattern', 'path'],
  Grep: ['pattern', 'path', 'glob'],
  LS: ['path'],
  WebFetch: ['url'],
  WebSearch: ['query'],
  Task: ['description', 'prompt'],
  Agent: ['description', 'prompt'],
  TodoWrite: [],
};

/**
 * The summary text: the command, path, URL or query, clipped to `max` characters. For MCP tools and
 * unknown tools, the first string argument (`key: value`).
 */
export function summarizeInput(tool: string, input: unknown, max = 80): string {
  if (!isObj(input)) return typeof input === 'string' ? clip(input, max) : '';
  const keys = KEYS[tool];
  if (keys) {
    const parts: string[] = [];
    for (const k of keys) {
      const v = str(input[k]);
      if (v) parts.push(k === keys[0] ? v : `${k}: ${v}`);
    }
    if (tool === 'Grep' && parts.length) parts[0] = `/${parts[0]}/`;
    if (parts.length) return clip(parts.join(' · '), max);
  }
  for (const [k, v] of Object.entries(input)) {
    const s = str(v);
    if (s) return clip(`${k}: ${s}`, max);
  }
  return '';
}

/** "mcp__github__create_issue" → { server: "github", tool: "create_issue" }. */
export function mcpParts(tool: string): { server: string; tool: string } | undefined {
  const m = /^mcp__([^_]+(?:_[^_]+)*?)__(.+)$/.exec(tool);
  return m ? { server: m[1]!, tool: m[2]! } : undefined;
}
