#!/usr/bin/env node
// The payment service the orders sample charges: a small real HTTP server on
// loopback. It charges once per Idempotency-Key — a request with a key it has
// seen gets the first answer again and charges nothing — as payment services
// do. `node samples/payments-server.mjs [port]` (default 8090; 0: any free port).
// POST /charge {order, amount} charges; GET /charges lists what it charged.
import { createServer } from 'node:http'

const port = Number(process.argv[2] ?? process.env.PORT ?? 8090)
/** Idempotency-Key → the answer its first request got. */
const answers = new Map()
const charges = []

const server = createServer((req, res) => {
  let body = ''
  req.setEncoding('utf8')
  req.on('data', (chunk) => {
    body += chunk
    if (body.length > 64 * 1024) req.destroy()
  })
  req.on('end', () => {
    const send = (status, value) => {
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(value))
    }
    if (req.method === 'GET' && req.url === '/charges') return send(200, charges)
    if (req.method !== 'POST' || req.url !== '/charge') return send(404, { error: `no route ${req.method} ${req.url}` })
    let order
    try {
      order = JSON.parse(body)
    } catch {
      return send(400, { error: 'send {"order": "A1", "amount": 30}' })
    }
    if (typeof order?.order !== 'string' || !Number.isFinite(order.amount)) return send(400, { error: 'send {"order": "A1", "amount": 30}' })
    const key = req.headers['idempotency-key']
    if (typeof key === 'string' && answers.has(key)) return send(200, answers.get(key))
    const charge = { charge: charges.length + 1, order: order.order, amount: order.amount }
    charges.push(charge)
    if (typeof key === 'string') answers.set(key, charge)
    console.log(`charged ${order.order} ${order.amount} (key ${key ?? 'none'})`)
    send(200, charge)
  })
})

server.listen(port, '127.0.0.1', () => console.log(`payments on http://127.0.0.1:${server.address().port}`))
