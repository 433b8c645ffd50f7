// What the attack tests share: a real `loom serve NB --share` (bin/loom.js,
// its engine in a confined child process) on a copy of a notebook, the
// invite tokens it prints, raw sockets to it, and the honest request that
// proves it still serves.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, writeFileSync, copyFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import WebSocket from 'ws'
import { connectEngine } from '../../engine/host/socketTransport.ts'
import { EngineClient } from '../../engine/protocol/client.ts'

export type Role = 'view' | 'edit' | 'run'

export interface SharedServe {
  notebook: string
  /** The owner's 127.0.0.1 listener, and the guests' (reached here on 127.0.0.1 too). */
  ownerPort: number
  guestPort: number
  tokens: Record<Role, string>
  /** The token of the address serve printed for the person who started it. */
  owner: string
  stdout(): string
  stderr(): string
  /** The serve process has not exited. */
  alive(): boolean
  stop(): Promise<void>
}

/** An empty renderer: these tests speak the protocol, not the page. */
export function emptyRenderer(): string {
  const dir = mkdtempSync(join(tmpdir(), 'loom-attack-ui-'))
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Loom</title>\n')
  return dir
}

export async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** Runs bin/loom.js with `args` in `cwd`; resolves with how it ended (killed after `ms`). */
export function loom(args: string[], cwd: string, ms = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (d: Buffer) => (stdout += d))
  child.stderr!.on('data', (d: Buffer) => (stderr += d))
  const killer = setTimeout(() => child.kill('SIGKILL'), ms)
  return new Promise((resolve) => child.once('exit', (code) => (clearTimeout(killer), resolve({ code, stdout, stderr }))))
}

const BIN = fileURLToPath(new URL('../../bin/loom.js', import.meta.url))

/** `loom serve --share` on a copy of `notebook` in a folder of its own; resolves once the invite links are printed. */
export async function serveShared(notebook: string, renderer: string): Promise<SharedServe> {
  const dir = mkdtempSync(join(tmpdir(), 'loom-attack-'))
  const copy = join(dir, basename(notebook))
  copyFileSync(notebook, copy)
  const child: ChildProcess = spawn(process.execPath, [BIN, 'serve', copy, '--port', '0', '--share'], {
    env: { ...process.env, LOOM_RENDERER_DIR: renderer },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  child.stdout!.on('data', (d: Buffer) => (out += d))
  child.stderr!.on('data', (d: Buffer) => (err += d))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  await until('the invite links are printed', () => {
    if (child.exitCode !== null) throw new Error(`loom serve --share exited (${child.exitCode}):\n${out}${err}`)
    return /^\s+run\s+http/m.test(out)
  }, 60_000)
  const tokens = Object.fromEntries(['view', 'edit', 'run'].map((r) => [r, new RegExp(`^\\s+${r}\\s+http://[^/]+/\\?token=(\\S+)`, 'm').exec(out)![1]!])) as Record<Role, string>
  return {
    notebook: copy,
    ownerPort: Number(/serving .* at http:\/\/127\.0\.0\.1:(\d+)\//.exec(out)![1]),
    guestPort: Number(/^\s+run\s+http:\/\/[^:/]+:(\d+)\//m.exec(out)![1]),
    tokens,
    owner: /serving .* at http:\/\/127\.0\.0\.1:\d+\/\?token=(\S+)/.exec(out)![1]!,
    stdout: () => out,
    stderr: () => err,
    alive: () => child.exitCode === null && child.signalCode === null,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM')
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000)
      await exited
      clearTimeout(killer)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** A raw WebSocket to the engine on the guests' listener, as their page would open it. */
export function rawEngine(port: number): Promise<WebSocket> {
  return open(`ws://127.0.0.1:${port}/engine`, `http://127.0.0.1:${port}`)
}

export function open(url: string, origin?: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, origin ? { origin } : {})
    ws.once('open', () => resolve(ws))
    ws.once('error', reject)
    ws.once('unexpected-response', (_req, res) => reject(new Error(`refused: ${res.statusCode}`)))
  })
}

/** The next JSON frame the socket receives (or null when it closes first, or nothing comes in `ms`). */
export function nextJson(ws: WebSocket, ms = 5000): Promise<Record<string, any> | null> {
  return new Promise((resolve) => {
    const done = (v: Record<string, any> | null) => {
      clearTimeout(timer)
      ws.off('message', onMessage)
      ws.off('close', onClose)
      resolve(v)
    }
    const onMessage = (data: WebSocket.RawData) => done(JSON.parse(data.toString()))
    const onClose = () => done(null)
    const timer = setTimeout(() => done(null), ms)
    ws.on('message', onMessage)
    ws.on('close', onClose)
  })
}

/** The honest request: a fresh connection says hello with the view token and reads a page of the log. */
export async function honest(s: SharedServe, ms = 10_000): Promise<void> {
  const transport = await connectEngine(`ws://127.0.0.1:${s.guestPort}/engine`, `http://127.0.0.1:${s.guestPort}`)
  const client = new EngineClient(transport)
  try {
    const answer = (async () => {
      const hello = await client.call('hello', { token: s.tokens.view })
      if (hello.share?.role !== 'view') throw new Error(`hello answered role ${hello.share?.role}`)
      await client.call('log', { limit: 5 })
    })()
    let timer: NodeJS.Timeout | undefined
    await Promise.race([answer, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer to an honest hello and log read in ${ms} ms`)), ms)))])
    clearTimeout(timer)
  } finally {
    client.close()
  }
}

/** `loom serve --share` of `notebook` (an empty renderer), `fn` run with a client that said hello as `role`; then the honest request, and everything stopped. */
export async function asGuest(notebook: string, role: Role, fn: (client: EngineClient, s: SharedServe) => Promise<void>): Promise<void> {
  const renderer = emptyRenderer()
  const s = await serveShared(notebook, renderer)
  try {
    const client = new EngineClient(await connectEngine(`ws://127.0.0.1:${s.guestPort}/engine`, `http://127.0.0.1:${s.guestPort}`))
    try {
      await client.call('hello', { token: s.tokens[role] })
      await fn(client, s)
    } finally {
      client.close()
    }
    await honest(s)
  } finally {
    await s.stop()
    rmSync(renderer, { recursive: true, force: true })
  }
}
