// Writing the notebook's text: atomically (a temp file beside it, renamed
// over it, its mode kept), so a crash mid-save leaves the old file or the
// new one, never half. Under `loom serve` the supervisor does it for its
// engine process (forkEngine.ts), which may write no file at all.
import { chmod, rename, stat, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

export async function writeAtomically(path: string, text: string): Promise<void> {
  const mode = await stat(path).then((s) => s.mode & 0o777, () => null)
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.saving`)
  await writeFile(temp, text, 'utf8')
  if (mode !== null) await chmod(temp, mode)
  await rename(temp, path)
}
