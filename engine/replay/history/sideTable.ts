// Tables beside the log, outside the hash chain (timings, latencies,
// failures): each is made by the first writer that has rows for it, so a log
// written before it existed still opens and an older Loom never sees it, and
// a table of that name made by something else is left alone — its rows are
// then not kept, the events still are.
import type Database from 'better-sqlite3'

/**
 * The statements that write a side table on `db`, made once (the table first,
 * with `create`); null when the table there is not Loom's. `cache` holds them per connection.
 */
export function sideStatements<T>(cache: WeakMap<Database.Database, T | null>, db: Database.Database, create: string, prepare: () => T): T | null {
  let stmt = cache.get(db)
  if (stmt === undefined) {
    db.exec(create)
    try {
      stmt = prepare()
    } catch {
      stmt = null
    }
    cache.set(db, stmt)
  }
  return stmt
}
