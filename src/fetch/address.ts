/**
 * Which network addresses a download may reach. Distfile URLs come from recipes (untrusted), so a URL naming the
 * host itself, a private network or a cloud metadata address (server-side request forgery) is refused before any
 * connection, unless the operator allows that host or network by name in `kiln.yaml` (`fetch.allow_hosts`).
 * Pure: no disk, process or clock.
 */
import net from 'node:net';

/** A network: base address as a bigint, prefix length, family. */
interface Net {
  readonly base: bigint;
  readonly bits: number;
  readonly v6: boolean;
  readonly why: string;
}

function v4ToBig(ip: string): bigint {
  return ip.split('.').reduce((a, o) => (a << 8n) | BigInt(Number(o)), 0n);
}

function v6ToBig(ip: string): bigint {
  let s = ip.toLowerCase();
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  // A trailing dotted IPv4 part (::ffff:1.2.3.4) becomes two hex groups.
  const m = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (m) {
    const v = v4ToBig(m[2]!);
    s = `${m[1]}${(v >> 16n).toString(16)}:${(v & 0xffffn).toString(16)}`;
  }
  const [head, tail] = s.includes('::') ? (s.split('::') as [string, string]) : [s, undefined];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((a, g) => (a << 16n) | BigInt(parseInt(g || '0', 16)), 0n);
}

function parseNet(cidr: string, why: string): Net {
  const [addr, len] = cidr.split('/') as [string, string | undefined];
  const v6 = net.isIPv6(addr);
  return { base: v6 ? v6ToBig(addr) : v4ToBig(addr), bits: len === undefined ? (v6 ? 128 : 32) : Number(len), v6, why };
}

function inNet(ip: bigint, v6: boolean, n: Net): boolean {
  if (v6 !== n.v6) return false;
  const width = v6 ? 128n : 32n;
  const shift = width - BigInt(n.bits);
  return ip >> shift === n.base >> shift;
}

const BLOCKED_V4: readonly Net[] = [
  ['0.0.0.0/8', 'unspecified'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'shared (carrier-grade NAT)'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'IETF protocol assignments'],
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'benchmarking'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'],
].map(([c, w]) => parseNet(c!, w!));

const BLOCKED_V6: readonly Net[] = [
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['fe80::/10', 'link-local'],
  ['fc00::/7', 'private (unique local)'],
  ['fec0::/10', 'site-local'],
  ['ff00::/8', 'multicast'],
  ['100::/64', 'discard'],
].map(([c, w]) => parseNet(c!, w!));

/** IPv6 forms that carry an IPv4 address, checked as that address: mapped, compatible, NAT64, 6to4. */
function embeddedV4(ip: bigint): bigint | undefined {
  if (ip >> 32n === 0xffffn) return ip & 0xffffffffn; // ::ffff:a.b.c.d
  if (ip >> 32n === 0n && ip > 1n) return ip & 0xffffffffn; // ::a.b.c.d (deprecated)
  if (ip >> 32n === 0x64ff9b0000000000000000n) return ip & 0xffffffffn; // 64:ff9b::a.b.c.d
  if (ip >> 112n === 0x2002n) return (ip >> 80n) & 0xffffffffn; // 2002:aabb:ccdd::
  return undefined;
}

/**
 * Why `ip` may not be fetched from ('loopback', 'private', 'link-local', ...), or undefined for a public address.
 * IPv4 inside IPv6 (`::ffff:127.0.0.1`, NAT64, 6to4) is judged as the IPv4 address it carries.
 */
export function blockedReason(ip: string): string | undefined {
  if (net.isIPv4(ip)) {
    const v = v4ToBig(ip);
    return BLOCKED_V4.find((n) => inNet(v, false, n))?.why;
  }
  if (!net.isIPv6(ip)) return 'not an IP address';
  const v = v6ToBig(ip);
  const hit = BLOCKED_V6.find((n) => inNet(v, true, n));
  if (hit) return hit.why;
  const four = embeddedV4(v);
  if (four === undefined) return undefined;
  const w = BLOCKED_V4.find((n) => inNet(four, false, n));
  return w ? `${w.why}, inside an IPv6 address` : undefined;
}

/**
 * The operator's exceptions: host names (matched exactly, case-insensitive), addresses and networks
 * (`10.1.2.0/24`, `fd00::/8`). Built from `kiln.yaml`'s `fetch.allow_hosts` plus the hosts of configured mirrors.
 */
export class AllowList {
  private readonly names = new Set<string>();
  private readonly nets: Net[] = [];

  /** @param entries host names, IP addresses or CIDR networks; invalid entries are ignored (the config schema checks them) */
  constructor(entries: readonly string[] = []) {
    for (const raw of entries) {
      const e = raw
        .trim()
        .toLowerCase()
        .replace(/^\[(.*)\]$/, '$1');
      const addr = e.split('/')[0]!;
      if (net.isIP(addr) !== 0) this.nets.push(parseNet(e, 'allowed'));
      else if (e !== '') this.names.add(e);
    }
  }

  /** True when the host name itself is allowed. */
  allowsName(host: string): boolean {
    return this.names.has(host.toLowerCase().replace(/^\[(.*)\]$/, '$1'));
  }

  /** True when the address is in an allowed network. */
  allowsAddress(ip: string): boolean {
    const v6 = net.isIPv6(ip);
    if (!v6 && !net.isIPv4(ip)) return false;
    const v = v6 ? v6ToBig(ip) : v4ToBig(ip);
    if (this.nets.some((n) => inNet(v, v6, n))) return true;
    const four = v6 ? embeddedV4(v) : undefined;
    return four !== undefined && this.nets.some((n) => inNet(four, false, n));
  }
}
