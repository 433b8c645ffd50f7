// The 3x baseline as bench/sqlite.ts defines it: one INSERT per transaction, WAL, synchronous=NORMAL (20,000 rows).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sqliteInserts } from '../bench/sqlite.ts'
const dir = mkdtempSync(join(tmpdir(), 'loom-plain-'))
try { console.log(JSON.stringify({ plainInsertsPerSecond: Math.round(20_000 / (sqliteInserts(dir, 20_000, 'NORMAL') / 1000)) })) } finally { rmSync(dir, { recursive: true, force: true }) }
