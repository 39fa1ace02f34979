/**
 * The policy reference (docs/policy-reference.md), generated from the JSON Schemas that are themselves
 * generated from the zod schemas: one section per object type, a table of its fields with type, default
 * and description. `npm run schemas` writes it next to schemas/; a test fails when it drifts.
 */

type Json = Record<string, unknown>;

interface Field {
  name: string;
  type: string;
  required: boolean;
  default?: unknown;
  description: string;
}

interface Section {
  title: string;
  anchor: string;
  description: string;
  fields: Field[];
  /** For maps (`additionalProperties` objects): what each value is. */
  mapOf?: string;
}

export function policyReference(schemas: { title: string; file: string; schema: Json }[], intro: string): string {
  const out: string[] = [intro.trimEnd(), ''];
  for (const s of schemas) {
    const gen = new Generator(s.schema);
    gen.section(s.title, s.schema, s.title);
    out.push(`## ${s.title}`, '', `JSON Schema: [\`schemas/${s.file}\`](../schemas/${s.file})`, '');
    for (const sec of gen.sections) {
      out.push(`### ${sec.title}`, '');
      if (sec.description) out.push(sec.description, '');
      if (sec.mapOf) out.push(`A map from names to ${sec.mapOf}.`, '');
      if (sec.fields.length) {
        out.push('| field | type | required | default | description |', '|---|---|---|---|---|');
        for (const f of sec.fields) {
          const dflt = f.default === undefined ? '' : `\`${JSON.stringify(f.default)}\``;
          out.push(`| \`${f.name}\` | ${f.type} | ${f.required ? 'yes' : ''} | ${dflt} | ${cell(f.description)} |`);
        }
        out.push('');
      }
    }
  }
  return out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd() + '\n';
}

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n+/g, ' ');
}

function anchorOf(title: string): string {
  return title
    .toLowerCase()
    .replace(/[^a-z0-9 -]/g, '')
    .trim()
    .replace(/ /g, '-');
}

class Generator {
  readonly sections: Section[] = [];
  /** Object schemas already given a section (the same definition reached twice links to the first). */
  private readonly seen = new Map<Json, Section>();
  private readonly used = new Set<string>();

  constructor(private readonly root: Json) {}

  /** Follow `$ref` and single-element `allOf` wrappers, keeping the outermost description and default. */
  resolve(node: Json): { node: Json; description?: string; default?: unknown } {
    let description = typeof node.description === 'string' ? node.description : undefined;
    let dflt = node.default;
    let cur = node;
    for (let i = 0; i < 32; i++) {
      let next: Json | undefined;
      if (typeof cur.$ref === 'string') next = this.deref(cur.$ref);
      else if (Array.isArray(cur.allOf) && cur.allOf.length === 1 && !cur.type && !cur.properties) next = cur.allOf[0] as Json;
      if (!next) break;
      cur = next;
      if (description === undefined && typeof cur.description === 'string') description = cur.description;
      if (dflt === undefined && cur.default !== undefined) dflt = cur.default;
    }
    return { node: cur, ...(description !== undefined ? { description } : {}), ...(dflt !== undefined ? { default: dflt } : {}) };
  }

  private deref(ref: string): Json {
    if (!ref.startsWith('#/')) throw new Error(`unsupported $ref ${ref}`);
    let cur: unknown = this.root;
    for (const part of ref.slice(2).split('/')) cur = (cur as Json)[part];
    if (!cur || typeof cur !== 'object') throw new Error(`dangling $ref ${ref}`);
    return cur as Json;
  }

  /** A section for an object schema (or the existing one); returns a markdown link to it. */
  section(title: string, node: Json, hint: string): string {
    const { node: obj, description } = this.resolve(node);
    const known = this.seen.get(obj);
    if (known) return `[${known.title}](#${known.anchor})`;
    let t = title;
    for (let n = 2; this.used.has(t); n++) t = `${title} (${n})`;
    this.used.add(t);
    const sec: Section = { title: t, anchor: anchorOf(t), description: description ?? '', fields: [] };
    this.seen.set(obj, sec);
    this.sections.push(sec);
    const props = (obj.properties ?? {}) as Record<string, Json>;
    const required = new Set(Array.isArray(obj.required) ? (obj.required as string[]) : []);
    for (const [name, p] of Object.entries(props)) {
      const r = this.resolve(p);
      sec.fields.push({
        name,
        type: this.typeOf(p, `${hint}.${name}`),
        required: required.has(name),
        ...(r.default !== undefined ? { default: r.default } : {}),
        description: r.description ?? '',
      });
    }
    if (!obj.properties && obj.additionalProperties && typeof obj.additionalProperties === 'object') {
      sec.mapOf = this.typeOf(obj.additionalProperties as Json, `${hint} entry`);
    }
    return `[${sec.title}](#${sec.anchor})`;
  }

  typeOf(node: Json, hint: string): string {
    const { node: n } = this.resolve(node);
    if ('const' in n) return `\`${JSON.stringify(n.const)}\``;
    if (Array.isArray(n.enum)) return n.enum.map((v) => `\`${JSON.stringify(v)}\``).join(' \\| ');
    const alts = (n.anyOf ?? n.oneOf) as Json[] | undefined;
    if (Array.isArray(alts)) {
      const types = [...new Set(alts.map((a) => this.typeOf(a, hint)))];
      return types.join(' or ');
    }
    if (n.type === 'array') {
      const items = n.items && typeof n.items === 'object' ? this.typeOf(n.items as Json, singular(hint)) : 'any';
      return `list of ${items}`;
    }
    if (n.type === 'object' || n.properties) {
      if (!n.properties && (!n.additionalProperties || n.additionalProperties === true)) return 'object';
      return this.section(titleOf(hint), n, hint);
    }
    if (typeof n.type === 'string') {
      const extra = n.pattern ? ` (pattern \`${String(n.pattern)}\`)` : n.minimum !== undefined || n.maximum !== undefined ? ` (${n.minimum ?? ''}..${n.maximum ?? ''})` : '';
      return `${n.type}${extra}`;
    }
    return 'any';
  }
}

/** A list's element: "….rules" → "….rule", "….cases" → "….case". */
function singular(hint: string): string {
  return /[^s]s$/.test(hint) ? hint.slice(0, -1) : `${hint} item`;
}

/** "Agent Warden policy.rule.match.path" → "rule → match → path". */
function titleOf(hint: string): string {
  const parts = hint.split('.');
  return parts.length > 1 ? parts.slice(1).join(' → ') : hint;
}
