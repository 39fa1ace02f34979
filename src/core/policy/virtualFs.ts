/**
 * An in-memory file system for policy test suites: which files exist, which paths are symlinks.
 * Lets `warden test` and the decision corpus exercise symlink and glob handling without touching disk.
 */
import { minimatch } from 'minimatch';
import { normalizeAbs, type FsProbe } from '../paths/paths';
import type { TestEnvDoc } from './schema';

export function virtualFsProbe(spec: NonNullable<TestEnvDoc['fs']>): FsProbe {
  const links = new Map<string, string>();
  for (const [link, target] of Object.entries(spec.symlinks ?? {})) links.set(normalizeAbs(link), target);
  const contents = new Map(Object.entries(spec.contents ?? {}).map(([k, v]) => [normalizeAbs(k), v]));
  const files = new Set([...(spec.files ?? []), ...contents.keys()].map(normalizeAbs));
  const dirs = new Set((spec.dirs ?? []).map(normalizeAbs));
  for (const p of [...files, ...dirs, ...links.keys()]) {
    for (let d = p.slice(0, p.lastIndexOf('/')); d; d = d.slice(0, d.lastIndexOf('/'))) dirs.add(d);
  }
  dirs.add('/');
  const entries = [...files, ...dirs, ...links.keys()];
  return {
    readlink: (p) => links.get(normalizeAbs(p)),
    readText: (p, maxBytes) => {
      const text = contents.get(normalizeAbs(p));
      return text !== undefined && text.length <= maxBytes ? text : undefined;
    },
    isDir: (p) => dirs.has(normalizeAbs(p)),
    glob: (pattern, cwd) => {
      const abs = pattern.startsWith('/') ? pattern : `${cwd.replace(/\/$/, '')}/${pattern}`;
      const hits = entries.filter((e) => minimatch(e, abs, { dot: false, nobrace: true, noext: true, noglobstar: true }));
      return hits.sort();
    },
  };
}
