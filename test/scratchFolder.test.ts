import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { scratchFolder } from '../engine/host/scratchFolder.ts'

// A pid no process has here: above Linux's pid_max limit (2^22).
const GONE = 5_000_000

test('a scratch folder left by a gone launcher of this pid namespace is removed; one of another namespace (a container sharing /tmp) is left to it', { skip: process.platform !== 'linux' && 'pid namespaces are Linux' }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'loom-sweep-'))
  const saved = process.env.TMPDIR
  process.env.TMPDIR = tmp
  try {
    const space = /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))![1]
    const other = String(Number(space) + 1)
    mkdirSync(join(tmp, `loom-scratch-${space}-${GONE}-aaaaaa`))
    mkdirSync(join(tmp, `loom-scratch-${other}-${GONE}-bbbbbb`))
    mkdirSync(join(tmp, `loom-scratch-${space}-${process.pid}-cccccc`))
    const mine = scratchFolder()
    try {
      const names = readdirSync(tmp).sort()
      assert.ok(!names.includes(`loom-scratch-${space}-${GONE}-aaaaaa`), 'the gone launcher of this namespace: removed')
      assert.ok(names.includes(`loom-scratch-${other}-${GONE}-bbbbbb`), 'another namespace: its pid means nothing here, left')
      assert.ok(names.includes(`loom-scratch-${space}-${process.pid}-cccccc`), 'a live launcher: left')
      assert.match(mine.path, new RegExp(`loom-scratch-${space}-${process.pid}-`))
    } finally {
      mine.remove()
    }
    assert.equal(readdirSync(tmp).filter((n) => n.startsWith(`loom-scratch-${space}-${process.pid}-`)).length, 1, 'remove() takes only its own')
  } finally {
    if (saved === undefined) delete process.env.TMPDIR
    else process.env.TMPDIR = saved
    rmSync(tmp, { recursive: true, force: true })
  }
})
