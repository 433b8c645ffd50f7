// The baseline for the HTTP bench: the todo sample's POST /todos written as a
// plain Node http server keeping its state in SQLite (WAL), one transaction
// per request — the way an app does it today. `synchronous` is the second
// argument: FULL (SQLite's default: an answered request is on disk) or NORMAL.
// Prints its URL.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import Database from 'better-sqlite3'

const db = new Database(process.argv[2]!)
db.pragma('journal_mode = WAL')
db.pragma(`synchronous = ${process.argv[3] ?? 'NORMAL'}`)
db.exec('CREATE TABLE IF NOT EXISTS todos (id INTEGER PRIMARY KEY, title TEXT NOT NULL, done INTEGER NOT NULL DEFAULT 0)')
const insert = db.prepare('INSERT INTO todos (title) VALUES (?)')

const server = createServer((req, res) => {
  let body = ''
  req.setEncoding('utf8')
  req.on('data', (d: string) => (body += d))
  req.on('end', () => {
    if (req.method === 'POST' && req.url === '/todos') {
      let title: unknown
      try {
        title = JSON.parse(body).title
      } catch {}
      if (typeof title !== 'string' || !title.trim()) {
        res.writeHead(400, { 'content-type': 'application/json; charset=utf-8' })
        return res.end(JSON.stringify({ error: 'send {"title": "…"} as JSON' }))
      }
      const id = Number(insert.run(title.trim()).lastInsertRowid)
      res.writeHead(201, { 'content-type': 'application/json; charset=utf-8' })
      return res.end(JSON.stringify({ id, title: title.trim(), done: false }))
    }
    res.writeHead(404)
    res.end()
  })
})
server.listen(0, '127.0.0.1', () => console.log(`serving http://127.0.0.1:${(server.address() as AddressInfo).port}`))
