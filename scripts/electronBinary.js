// Where the Electron binary is, or why there is none. `electron` is an
// optional dependency whose install script downloads the binary from
// GitHub; without internet access to it the package is there but the
// binary is not. Shared by `npm start` and the Electron tests.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const PACKAGE = fileURLToPath(new URL('../node_modules/electron/', import.meta.url))

/** @returns {{ path: string } | { missing: string }} */
export function electronBinary() {
  if (!existsSync(join(PACKAGE, 'package.json'))) return { missing: 'the optional dependency electron is not installed (npm install --include=optional installs it)' }
  const pathFile = join(PACKAGE, 'path.txt')
  const name = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : null
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH
  if (!name && !override) return { missing: 'the electron package has no binary: its install script downloads one from GitHub, which needs internet access (set ELECTRON_OVERRIDE_DIST_PATH to an unpacked Electron, or reinstall with access)' }
  const path = override ? join(override, name ?? 'electron') : join(PACKAGE, 'dist', name)
  if (!existsSync(path)) return { missing: `the Electron binary ${path} is missing; reinstall electron with internet access` }
  return { path }
}
