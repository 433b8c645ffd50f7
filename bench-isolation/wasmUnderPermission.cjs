// (d) a WebAssembly SQLite under Node's permission model: reads of its package and the session folder,
// writes only to the session's log files (and its journal), no addons. usage: see the command in docs/isolation.md
const { Database } = require('../.probe/wasm/node_modules/node-sqlite3-wasm')
const dir = process.argv[2]
const r = {}
try {
  const db = new Database(dir + '/log.db')
  r.journal = Object.values(db.get('PRAGMA journal_mode = WAL'))[0]
  db.exec('CREATE TABLE IF NOT EXISTS t (x TEXT)'); db.run('INSERT INTO t VALUES (?)', ['ok'])
  r.rows = db.get('SELECT count(*) AS n FROM t').n
  db.close()
} catch (e) { r.error = e.code || e.message }
try { require('better-sqlite3'); r.betterSqlite3 = 'loaded' } catch (e) { r.betterSqlite3 = 'refused: ' + (e.code || e.message.slice(0, 60)) }
try { require('fs').writeFileSync(dir + '/other.txt', 'x'); r.writeOther = 'WROTE' } catch (e) { r.writeOther = e.code }
console.log(JSON.stringify(r))
