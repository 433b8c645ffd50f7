// The hash rule of the log, in one place: every event's hash covers its
// parent's hash and its canonical encoding, so changing any byte of history
// changes every hash after it. The writer, verify, the damage check, the
// import check and the in-memory log all hash through `chainHash`.
import { hash } from 'node:crypto'

/** The parent hash of a branch's first event. */
export const GENESIS_HASH = '0'.repeat(64)

/** The hash of an event whose canonical encoding is `encoding` and whose parent's hash is `parentHash`. */
export function chainHash(parentHash: string, encoding: string): string {
  return hash('sha256', parentHash + encoding, 'hex')
}

/** The hash a stored value is kept and checked by (code, snapshots, large values): a changed byte shows. */
export function contentHash(text: string): string {
  return hash('sha256', text, 'hex')
}
