/** Corpus data files write credential-shaped strings as `{"$join": [...]}` fragments (so that no complete one is in the repository): resolve them. */
export function resolveJoins(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(resolveJoins);
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (Array.isArray(o.$join) && Object.keys(o).length === 1) return (o.$join as unknown[]).map((x) => String(x)).join('');
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, resolveJoins(x)]));
  }
  return v;
}
