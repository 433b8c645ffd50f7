// Where an address a granted name resolves to leads. A grant names an origin,
// but whoever answers for the name decides where it points, and may point it
// at this machine or its network after the grant was given (DNS rebinding).
// So a name reaches public addresses only, unless it is a loopback name
// (`localhost`) or its grant says `private: true`; an address written in the
// URL is reached as written (granting it was explicit). The check is made on
// the addresses the connection then uses, so the answer cannot change between
// the check and the connection.
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns'
import { BlockList, isIP, type LookupFunction } from 'node:net'

/** Where an address leads, in words for an error. */
export type Reach = 'public' | 'this machine' | 'a private network' | 'a link-local network' | 'no ordinary host'

const ranges: [Exclude<Reach, 'public'>, 'ipv4' | 'ipv6', string, number][] = [
  ['this machine', 'ipv4', '127.0.0.0', 8],
  ['this machine', 'ipv4', '0.0.0.0', 8], // 0.0.0.0 connects to this machine on Linux
  ['this machine', 'ipv6', '::1', 128],
  ['this machine', 'ipv6', '::', 128],
  ['a private network', 'ipv4', '10.0.0.0', 8],
  ['a private network', 'ipv4', '172.16.0.0', 12],
  ['a private network', 'ipv4', '192.168.0.0', 16],
  ['a private network', 'ipv4', '100.64.0.0', 10], // carrier-grade NAT
  ['a private network', 'ipv4', '198.18.0.0', 15], // benchmarking networks
  ['a private network', 'ipv6', 'fc00::', 7],
  ['a link-local network', 'ipv4', '169.254.0.0', 16], // and cloud metadata services (169.254.169.254)
  ['a link-local network', 'ipv6', 'fe80::', 10],
  ['no ordinary host', 'ipv4', '192.0.0.0', 24],
  ['no ordinary host', 'ipv4', '224.0.0.0', 4], // multicast
  ['no ordinary host', 'ipv4', '240.0.0.0', 4], // reserved, and the broadcast address
  ['no ordinary host', 'ipv6', 'ff00::', 8],
]
const lists = new Map<Reach, BlockList>()
for (const [reach, type, net, prefix] of ranges) {
  if (!lists.has(reach)) lists.set(reach, new BlockList())
  lists.get(reach)!.addSubnet(net, prefix, type)
}

/** Where `address` (an IPv4 or IPv6 address as text) leads; IPv4 carried inside IPv6 is judged as itself. */
export function reachOf(address: string): Reach {
  const family = isIP(address)
  if (family === 0) return 'no ordinary host'
  const v4 = family === 6 ? embeddedIpv4(address) : address
  const [ip, type] = v4 ? [v4, 'ipv4' as const] : [address, 'ipv6' as const]
  for (const [reach, list] of lists) if (list.check(ip, type)) return reach
  return 'public'
}

/** The IPv4 address inside an IPv4-mapped (::ffff:a.b.c.d), NAT64 (64:ff9b::/96) or 6to4 (2002::/16) one. */
function embeddedIpv4(v6: string): string | null {
  // The URL parser writes any IPv6 form one way: eight groups or fewer with ::, in hex.
  let host: string
  try {
    host = new URL(`http://[${v6}]/`).hostname.slice(1, -1)
  } catch {
    return null
  }
  const groups = expand(host)
  if (!groups) return null
  const quad = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`
  const zero = (from: number, to: number) => groups.slice(from, to).every((g) => g === 0)
  if (zero(0, 5) && groups[5] === 0xffff) return quad(groups[6]!, groups[7]!)
  if (groups[0] === 0x64 && groups[1] === 0xff9b && zero(2, 6)) return quad(groups[6]!, groups[7]!)
  if (groups[0] === 0x2002) return quad(groups[1]!, groups[2]!)
  return null
}

/** `a::b` as its eight 16-bit groups (the URL parser has already written IPv4 tails in hex). */
function expand(host: string): number[] | null {
  const [head, tail] = host.includes('::') ? host.split('::') : [host, undefined]
  const parse = (s: string | undefined) => (s ? s.split(':').map((g) => parseInt(g, 16)) : [])
  const h = parse(head)
  const t = parse(tail)
  const groups = tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t]
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null
}

/** True for the names that mean this machine by definition (RFC 6761): `localhost` and names under it. */
export function isLoopbackName(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/\.$/, '')
  return h === 'localhost' || h.endsWith('.localhost')
}

/** Resolves a name to its addresses (dns.lookup's shape); replaceable where no resolver answers for a test name. */
export type Resolve = (hostname: string, options: LookupAllOptions, done: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void

/**
 * A `lookup` for http(s).request that resolves the name and refuses (error
 * code EREACH) unless every address it has leads where the grant lets it:
 * a loopback name to this machine only, a private grant anywhere, any other name
 * to public addresses only. Every address is checked, so a name that answers with one
 * public and one private address cannot have the connection try the private one.
 */
export function reachCheckedLookup(origin: string, privateGranted: boolean, resolve: Resolve = dnsLookup as Resolve): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (err, addresses) => {
      const reply = callback as (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void
      if (err) return reply(err, '')
      const loopbackName = isLoopbackName(hostname)
      const wrong = addresses.find((a) => {
        const reach = reachOf(a.address)
        return loopbackName ? reach !== 'this machine' : !privateGranted && reach !== 'public'
      })
      if (wrong || !addresses.length) return reply(Object.assign(new Error(wrong ? refusal(origin, hostname, wrong.address, loopbackName) : `${hostname} has no address`), { code: wrong ? 'EREACH' : 'ENOTFOUND' }), '')
      if (options.all) reply(null, addresses)
      else reply(null, addresses[0]!.address, addresses[0]!.family)
    })
  }
}

function refusal(origin: string, hostname: string, address: string, loopbackName: boolean): string {
  const where = reachOf(address)
  if (loopbackName) return `${hostname} resolves to ${address}, which is not this machine; a loopback name reaches only this machine`
  const literal = address.includes(':') ? `[${address}]` : address
  return `${hostname} resolves to ${address} (${where}): a granted name reaches public addresses only, so that whoever answers for the name cannot point it at your machine or network. ` +
    `To reach it, grant the address (${origin.replace(/\/\/[^/:]+|\/\/\[[^\]]+\]/, `//${literal}`)}) or mark the grant private: { origin: '${origin}', private: true }`
}
