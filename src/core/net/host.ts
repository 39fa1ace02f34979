/**
 * Hosts as the program that connects would resolve them. curl, Node (WebFetch, MCP servers) and browsers
 * all reach 169.254.169.254 through `169.254.43518`, `2852039166`, `%31%36%39.254.169.254`,
 * `169。254。169。254`, `①⑥⑨.②⑤④.①⑥⑨.②⑤④` or `[::ffff:a9fe:a9fe]`, so host rules compare canonical forms.
 *
 * The WHATWG URL parser (global `URL`: pure, no I/O) does the IDNA mapping, percent-decoding, IPv4 number
 * forms and IPv6 compression; IPv6 addresses that carry an IPv4 address are then reduced to it.
 */
import { DYN } from '../types';

/** Characters that would make a lone host parse as something else (a path, a port, credentials). */
const STRUCTURAL = /[/?#@\\\s]/;

/** `::ffff:a.b.c.d` (mapped), `::a.b.c.d` (compatible), `::ffff:0:a.b.c.d` (SIIT), `64:ff9b::a.b.c.d` (NAT64). */
const EMBEDDED_V4 = /^(?:::ffff:|::|::ffff:0:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/;

/** The canonical spelling of a host (no brackets, lower case, no trailing dot); unparseable hosts keep theirs. */
export function canonicalHost(raw: string): string {
  let h = raw.replace(/[\t\n\r]/g, '').trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  // A computed part stays visible as such: IDNA would turn the marker into punycode.
  if (!h || h.includes(DYN)) return h;
  if (!STRUCTURAL.test(h)) {
    try {
      h = new URL(`http://${h.includes(':') ? `[${h}]` : h}/`).hostname.replace(/^\[|\]$/g, '');
    } catch {
      h = legacyHost(h);
    }
  }
  h = h.replace(/\.$/, '') || h;
  const m = EMBEDDED_V4.exec(h);
  if (m) {
    const hi = parseInt(m[1]!, 16);
    const lo = parseInt(m[2]!, 16);
    return [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.');
  }
  return h;
}

/** The host of a URL as WHATWG parsers (Node, browsers) see it, or undefined when it does not parse. */
export function whatwgHost(url: string): { host: string; scheme: string; href: string; port?: number } | undefined {
  if (url.includes(DYN)) return undefined;
  try {
    const u = new URL(url);
    if (!u.hostname) return undefined;
    const out: { host: string; scheme: string; href: string; port?: number } = { host: canonicalHost(u.hostname), scheme: u.protocol.replace(/:$/, ''), href: u.href };
    if (u.port) out.port = Number(u.port);
    return out;
  } catch {
    return undefined;
  }
}

/** Decimal, hex and octal IPv4 spellings the WHATWG parser rejects but inet_aton may still take. */
function legacyHost(host: string): string {
  if (/^\d+$/.test(host) && Number(host) <= 0xffffffff) return intToIp(Number(host));
  if (/^0x[0-9a-f]+$/i.test(host) && Number(host) <= 0xffffffff) return intToIp(Number(host));
  const parts = host.split('.');
  if (parts.length === 4 && parts.every((p) => /^(0x[0-9a-f]+|0[0-7]*|[1-9]\d*)$/i.test(p))) {
    const nums = parts.map((p) => (/^0x/i.test(p) ? parseInt(p, 16) : p.length > 1 && p.startsWith('0') ? parseInt(p, 8) : Number(p)));
    if (nums.every((n) => n >= 0 && n <= 255)) return nums.join('.');
  }
  return host;
}

function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}
