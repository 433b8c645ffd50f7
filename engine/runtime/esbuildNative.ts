// Native esbuild's API, loaded with require: it is a CommonJS package, and
// importing it as an ES module makes Node scan its source for named exports
// first (~20 ms of every engine process's start).
import { createRequire } from 'node:module'

export const esbuild = createRequire(import.meta.url)('esbuild') as typeof import('esbuild')
