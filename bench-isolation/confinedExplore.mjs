// `loom explore` of the philosophers sample (N philosophers, a state bound) through the CLI, in two
// checkouts set by set: e.g. one where the search runs in the CLI process and one where it runs confined.
// Each run reports the search's own rate (--json elapsedMs, measured in the process that searches) and
// the command's wall time (start-up, compilation, the confined process and its threads included).
// usage: node bench-isolation/confinedExplore.mjs REPO_A REPO_B [N=6] [MAX_STATES=100000] [SETS=3] [WORKERS=1]
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
const [a, b, n = '6', maxStates = '100000', sets = '3', workers = '1'] = process.argv.slice(2)
const repos = [resolve(a), resolve(b)]
const dir = mkdtempSync(join(tmpdir(), 'loom-explore-bench-'))
try {
  const nb = join(dir, `philosophers-${n}.loom.md`)
  writeFileSync(nb, readFileSync(join(repos[0], 'samples/philosophers.loom.md'), 'utf8').replace('const N = 5', `const N = ${n}`))
  const rows = repos.map(() => [])
  for (let s = 0; s < Number(sets); s++) {
    for (const [i, repo] of repos.entries()) {
      const t0 = performance.now()
      const out = execFileSync(process.execPath, [join(repo, 'bin/loom.js'), 'explore', nb, '--max-states', maxStates, '--workers', workers, '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
      const wallMs = performance.now() - t0
      const r = JSON.parse(out)
      rows[i].push({ states: r.states, searchPerSecond: Math.round(r.states / (r.elapsedMs / 1000)), wallMs: Math.round(wallMs), wallPerSecond: Math.round(r.states / (wallMs / 1000)) })
    }
  }
  for (const [i, repo] of repos.entries()) console.log(JSON.stringify({ repo, n: Number(n), maxStates: Number(maxStates), workers: Number(workers), runs: rows[i] }))
} finally {
  rmSync(dir, { recursive: true, force: true })
}
