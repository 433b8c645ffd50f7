#!/usr/bin/env node
// `npm start`: the desktop app on the bank sample where Electron is
// installed; elsewhere the same UI served to a browser by `loom serve`
// (which builds the UI first if it has not been built), saying where.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { electronBinary } from './electronBinary.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const notebook = process.argv[2] ?? join('samples', 'bank.loom.md')
const electron = electronBinary()

let child
if ('path' in electron) {
  child = spawn(electron.path, [join(root, 'electron', 'main.js'), notebook], { stdio: 'inherit', cwd: root })
} else {
  console.log(`Electron is not installed here: ${electron.missing}.`)
  console.log('Serving the same UI to your browser instead (loom serve); open the address below: its token lets your page in.')
  child = spawn(process.execPath, [join(root, 'bin', 'loom.js'), 'serve', notebook], { stdio: 'inherit', cwd: root })
}
// Ctrl-C reaches the child by itself (same process group): wait for it to stop cleanly. A SIGTERM is for us alone: pass it on.
process.on('SIGINT', () => {})
process.on('SIGTERM', () => child.kill('SIGTERM'))
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
