// esbuild compiled to WebAssembly, running on this thread. Native esbuild
// runs as a child process (its Go service), which a confined engine process
// may not start (DESIGN §9); the same esbuild version as WebAssembly needs
// no process and gives the same output byte for byte — what a code hash and
// replay rely on — so the version is checked before the first cell compiles.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { compileFunction } from 'node:vm'
import type { TransformOptions, TransformResult } from 'esbuild'
import { esbuild as native } from './esbuildNative.ts'

/** The engine's types leave out the DOM, and WebAssembly's with it: the one call used here. */
declare const WebAssembly: { compile(bytes: Uint8Array): Promise<unknown> }

interface EsbuildWasm {
  version: string
  initialize(options: { wasmModule: unknown; worker: boolean }): Promise<void>
  transform(source: string, options: TransformOptions): Promise<TransformResult>
}

let loading: Promise<EsbuildWasm> | null = null

export async function wasmTransform(source: string, options: TransformOptions): Promise<TransformResult> {
  const esbuild = await startWasmEsbuild()
  return esbuild.transform(source, options)
}

/**
 * Starts loading now, so the WebAssembly compiles on another core while the
 * process does other work; a failure is reported by the first transform.
 */
export function startWasmEsbuild(): Promise<EsbuildWasm> {
  if (!loading) {
    loading = load()
    loading.catch(() => {})
  }
  return loading
}

async function load(): Promise<EsbuildWasm> {
  const dir = dirname(createRequire(import.meta.url).resolve('esbuild-wasm/package.json'))
  // The browser build is the one that runs the Go service on this thread (worker: false).
  // It looks for the global object as `self`, which Node lacks: it gets one in scope,
  // rather than a new global every other module in the process would see.
  const file = join(dir, 'lib', 'browser.js')
  const module = { exports: {} as EsbuildWasm }
  compileFunction(readFileSync(file, 'utf8'), ['module', 'self'], { filename: file })(module, globalThis)
  const esbuild = module.exports
  if (esbuild.version !== native.version) {
    throw new Error(`esbuild-wasm ${esbuild.version} is not esbuild ${native.version}: cells would compile to other code than elsewhere; install esbuild-wasm@${native.version}`)
  }
  await esbuild.initialize({ wasmModule: await WebAssembly.compile(readFileSync(join(dir, 'esbuild.wasm'))), worker: false })
  return esbuild
}
