// A granted name whose owner points it at this machine or its network (DNS
// rebinding) reaches nothing there: the launcher's performer checks every
// address the name resolves to before it connects. Requests go to a real
// server on loopback; only the hostile names' answers come from a resolver
// given to the performer, since no DNS here answers for them.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import type { LookupAddress } from 'node:dns'
import { grantedPerformer } from '../../engine/runtime/effects/grantedPerformer.ts'
import { reachOf, type Resolve } from '../../engine/runtime/effects/addressReach.ts'
import { parseGrants } from '../../engine/runtime/effects/grants.ts'

const dir = mkdtempSync(join(tmpdir(), 'loom-rebinding-'))
after(() => rmSync(dir, { recursive: true, force: true }))
const nb = join(dir, 'app.loom.md')

/** A loopback server that counts its requests and answers with the Host header it was sent. */
async function server() {
  let hits = 0
  const s = createServer((req, res) => (hits++, res.end(`host ${req.headers.host}`)))
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  return { port: (s.address() as AddressInfo).port, hits: () => hits, close: () => s.close() }
}

/** A resolver that answers for the test's names as `table` says, and asks nobody. */
function resolver(table: Record<string, string[]>): Resolve {
  return (hostname, _options, done) => {
    const addresses = table[hostname]
    if (!addresses) return done(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), [])
    done(null, addresses.map((address): LookupAddress => ({ address, family: address.includes(':') ? 6 : 4 })))
  }
}

/** These tests are about where a grant leads, not whether you allowed it (allowedGrants.test.ts). */
const allowAll = async () => {}
const get = (url: string) => ({ kind: 'http.get', url, headers: {} })

test('attack: a granted name that resolves to this machine reaches nothing there, and the error says what to grant instead', async () => {
  const srv = await server()
  try {
    const origin = `http://rebind.example:${srv.port}`
    const performer = grantedPerformer(nb, `---\neffects: { http: ['${origin}'] }\n---\n`, allowAll, resolver({ 'rebind.example': ['127.0.0.1'] }))
    const answer = (await performer.perform(get(`${origin}/admin`))).response
    assert.ok('error' in answer, JSON.stringify(answer))
    assert.match(answer.error, /^rebind\.example resolves to 127\.0\.0\.1 \(this machine\): a granted name reaches public addresses only/)
    assert.ok(answer.error.includes(`grant the address (http://127.0.0.1:${srv.port})`), answer.error)
    assert.ok(answer.error.includes(`{ origin: '${origin}', private: true }`), answer.error)
    assert.equal(srv.hits(), 0)
  } finally {
    srv.close()
  }
})

test('attack: a name that answers with a public address and a loopback one is refused whole: the connection never tries the second', async () => {
  const srv = await server()
  try {
    const origin = `http://mixed.example:${srv.port}`
    for (const addresses of [['93.184.216.34', '127.0.0.1'], ['93.184.216.34', '::ffff:127.0.0.1'], ['2606:2800:220:1::1', '::1'], ['169.254.169.254']]) {
      const performer = grantedPerformer(nb, `---\neffects: { http: ['${origin}'] }\n---\n`, allowAll, resolver({ 'mixed.example': addresses }))
      const answer = (await performer.perform(get(`${origin}/`))).response
      assert.ok('error' in answer && /^mixed\.example resolves to /.test(answer.error), `${addresses}: ${JSON.stringify(answer)}`)
    }
    assert.equal(srv.hits(), 0)
  } finally {
    srv.close()
  }
})

test('a grant marked private lets its name reach this machine, with the name as the Host the server sees', async () => {
  const srv = await server()
  try {
    const origin = `http://payments.internal:${srv.port}`
    const performer = grantedPerformer(nb, `---\neffects: { http: [{ origin: '${origin}', private: true }] }\n---\n`, allowAll, resolver({ 'payments.internal': ['127.0.0.1'] }))
    assert.deepEqual((await performer.perform(get(`${origin}/`))).response, { status: 200, headers: ((await performer.perform(get(`${origin}/`))).response as { headers: Record<string, string> }).headers, body: `host payments.internal:${srv.port}` })
    assert.equal(srv.hits(), 2)
    // The mark is the grant's, not the name's: another origin of the same host, granted plainly, is not private.
    const other = grantedPerformer(nb, `---\neffects: { http: [{ origin: '${origin}', private: true }, 'http://payments.internal:1'] }\n---\n`, allowAll, resolver({ 'payments.internal': ['127.0.0.1'] }))
    const refused = (await other.perform(get('http://payments.internal:1/'))).response
    assert.ok('error' in refused && /resolves to 127\.0\.0\.1 \(this machine\)/.test(refused.error), JSON.stringify(refused))
  } finally {
    srv.close()
  }
})

test('localhost reaches this machine through the real resolver, and a localhost that resolves elsewhere is refused', async () => {
  const srv = await server()
  try {
    const origin = `http://localhost:${srv.port}`
    // The lying one first: a kept-alive connection from an earlier read is reused without a lookup (it was checked when it was made).
    const lying = grantedPerformer(nb, `---\neffects: { http: ['${origin}'] }\n---\n`, allowAll, resolver({ localhost: ['93.184.216.34'] }))
    const refused = (await lying.perform(get(`${origin}/`))).response
    assert.deepEqual(refused, { error: 'localhost resolves to 93.184.216.34, which is not this machine; a loopback name reaches only this machine' })
    const real = grantedPerformer(nb, `---\neffects: { http: ['${origin}'] }\n---\n`, allowAll)
    const answer = (await real.perform(get(`${origin}/`))).response
    // The real resolver may give ::1 first, where nothing listens: refused is a fine answer; an address check is not.
    assert.ok(('status' in answer && answer.status === 200) || ('error' in answer && answer.error === 'connection refused'), JSON.stringify(answer))
  } finally {
    srv.close()
  }
})

test('an address written in the URL is reached as granted, without a lookup', async () => {
  const srv = await server()
  try {
    const performer = grantedPerformer(nb, `---\neffects: { http: ['http://127.0.0.1:${srv.port}'] }\n---\n`, allowAll, resolver({}))
    assert.deepEqual(await performer.perform(get(`http://127.0.0.1:${srv.port}/`)).then(({ response: a }) => 'body' in a && a.body), `host 127.0.0.1:${srv.port}`)
  } finally {
    srv.close()
  }
})

test('where an address leads: this machine, private and link-local networks, IPv4 inside IPv6, and the public rest', () => {
  const cases: Record<string, string> = {
    '127.0.0.1': 'this machine', '127.9.9.9': 'this machine', '0.0.0.0': 'this machine', '::1': 'this machine', '::': 'this machine',
    '::ffff:127.0.0.1': 'this machine', '::ffff:7f00:1': 'this machine', '64:ff9b::7f00:1': 'this machine', '2002:7f00:1::': 'this machine',
    '10.1.2.3': 'a private network', '172.16.0.1': 'a private network', '172.31.255.255': 'a private network', '192.168.1.1': 'a private network',
    '100.64.0.1': 'a private network', 'fd00::1': 'a private network', '::ffff:10.0.0.1': 'a private network',
    '169.254.169.254': 'a link-local network', 'fe80::1': 'a link-local network',
    '224.0.0.1': 'no ordinary host', '255.255.255.255': 'no ordinary host', 'ff02::1': 'no ordinary host', 'not an address': 'no ordinary host',
    '172.32.0.1': 'public', '8.8.8.8': 'public', '2001:4860:4860::8888': 'public', '::ffff:8.8.8.8': 'public',
  }
  for (const [address, reach] of Object.entries(cases)) assert.equal(reachOf(address), reach, address)
})

test('a private mark that is not true or false, or an entry with other keys, is refused with what to write', () => {
  assert.match(String(parseGrants({ http: [{ origin: 'http://a.example', private: 'yes' }] })), /private must be true or false/)
  assert.match(String(parseGrants({ http: [{ origin: 'http://a.example', hosts: 1 }] })), /unknown key "hosts".*\{ origin: 'http:\/\/name:port', private: true \}/)
  assert.match(String(parseGrants({ http: [{ origin: 'http://a.example/path', private: true }] })), /is not an origin/)
  assert.deepEqual(parseGrants({ http: [{ origin: 'HTTP://A.example', private: true }, 'http://b.example'] }), { http: ['http://a.example:80', 'http://b.example:80'], fs: {}, privateHttp: ['http://a.example:80'] })
})
