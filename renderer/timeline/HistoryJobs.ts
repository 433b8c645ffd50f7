// The timeline's long jobs over history — Verify (replay a range and check
// every event against its record) and Replay with the current code (re-run a
// branch onto a new one and show where outcomes diverge) — one at a time,
// with a progress bar fed by the engine's `progress` notices.
import type { EngineClient } from '../../engine/protocol/client.ts'
import type { BranchView, RerunDivergence } from '../../engine/protocol/messages.ts'
import { h } from '../dom.ts'
import { plural } from '../words.ts'
import type { EventDetails } from './EventDetails.ts'
import type { Timeline } from './Timeline.ts'

export interface HistoryJobsHost {
  client(): EngineClient | null
  timeline(): Timeline
  details(): EventDetails
  setBranches(branches: BranchView[]): void
  /** A branch name no branch has yet, from `base`. */
  freeName(base: string): string
  toast(message: string, kind: 'done' | 'info' | 'warning' | 'error'): void
}

type Job = { op: 'verify' | 'rerun'; label: string }

export class HistoryJobs {
  readonly verifyButton: HTMLButtonElement
  readonly rerunButton: HTMLButtonElement
  /** The running job's progress bar, hidden between jobs. */
  readonly bar: HTMLElement
  private readonly label: HTMLElement
  private job: Job | null = null

  constructor(private readonly host: HistoryJobsHost, btn: (cls: string, label: string, icon: string, title: string, onclick: () => void) => HTMLButtonElement) {
    this.verifyButton = btn('tl-verify', 'Verify', 'verified', 'Replay the visible range of the selected branch and check every event against its record (V)', () => void this.verify())
    this.rerunButton = btn('tl-rerun', 'Replay with current code', 'debug-restart', 'Re-run the selected branch with the notebook\'s current code onto a new branch, and show where outcomes diverge (R)', () => void this.rerun())
    this.label = h('span.tl-progress-label')
    this.bar = h('span.tl-job', { hidden: true, role: 'progressbar' }, h('div.progress', null, h('div.progress-fill')), this.label)
  }

  /** A `progress` notice of the running job. */
  progress(done: number, total: number | null, what: string): void {
    if (!this.job) return
    this.showProgress(done, total)
    this.bar.title = `${this.job.label}: ${what}`
  }

  /** The running job's bar and its words: what it does, how far (events done of all). */
  private showProgress(done: number, total: number | null): void {
    if (!this.job) return
    const pct = total ? Math.min(100, Math.floor((100 * done) / total)) : null
    this.bar.hidden = false
    this.bar.dataset.done = String(done)
    this.bar.dataset.total = String(total ?? '')
    if (pct !== null) this.bar.setAttribute('aria-valuenow', String(pct))
    ;(this.bar.querySelector('.progress-fill') as HTMLElement).style.width = pct === null ? '50%' : `${pct}%`
    this.label.textContent = total ? `${this.job.label}: ${done.toLocaleString()}/${total.toLocaleString()}` : this.job.label
  }

  private endJob(): void {
    this.job = null
    this.bar.hidden = true
  }

  private range(): { branch: string; from: number; to: number } | null {
    const m = this.host.timeline().moment
    const b = m ? this.host.timeline().branch(m.branch) : undefined
    if (!m || !b || b.head < 1) return null
    const [a, z] = this.host.timeline().visibleRange()
    return { branch: b.name, from: Math.max(1, Math.ceil(a)), to: Math.min(b.head, Math.floor(z)) }
  }

  /** Runs one long job (verify, rerun) with the progress bar, saying what went wrong if it fails; one at a time. */
  private async asJob(job: Job, total: number | null, work: (client: EngineClient) => Promise<void>): Promise<void> {
    const client = this.host.client()
    if (!client || this.job) return
    this.job = job
    this.showProgress(0, total)
    try {
      await work(client)
    } catch (err) {
      this.host.toast((err as Error).message, 'error')
    } finally {
      this.endJob()
    }
  }

  async verify(): Promise<void> {
    const r = this.range()
    if (!r) return
    await this.asJob({ op: 'verify', label: `verifying ${r.branch} ${r.from}–${r.to}` }, r.to - r.from + 1, async (client) => {
      const v = await client.call('verify', r)
      if (v.ok) this.host.toast(`Verified ${r.branch} events ${r.from}–${r.to}: ${v.events === 1 ? 'the 1 event replays' : `all ${v.events.toLocaleString()} replay`} exactly as recorded.`, 'done')
      else {
        this.host.toast(`Verify failed${v.failure?.seq ? ` at event ${v.failure.seq}` : ''}: ${v.failure?.message ?? 'unknown'}`, 'error')
        if (v.failure?.seq) {
          this.host.timeline().markFailure(r.branch, v.failure.seq)
          this.host.timeline().select(r.branch, v.failure.seq)
        }
      }
    })
  }

  async rerun(): Promise<void> {
    const m = this.host.timeline().moment
    if (!m) return
    const onto = this.host.freeName(`${m.branch}-replay`)
    await this.asJob({ op: 'rerun', label: `replaying ${m.branch} with the current code` }, null, async (client) => {
      const r = await client.call('rerun', { branch: m.branch, onto })
      this.host.setBranches(await client.call('branches', {}))
      // Each divergence at its event on the new branch; one that no longer commits has no event there, so it is marked on
      // the recorded event (its request, writes and failed test are there to read) and its words say where it would come.
      const at = (d: RerunDivergence) => (d.now === null ? { branch: m.branch, seq: d.seq } : { branch: r.branch.name, seq: d.now })
      for (const branch of [r.branch.name, m.branch]) {
        const marks = r.divergences.filter((d) => at(d).branch === branch).map((d) => ({ seq: at(d).seq, what: d.what }))
        if (!marks.length && branch !== r.branch.name) continue
        this.host.timeline().markDivergences(branch, marks)
        this.host.details().setDivergences(branch, marks)
      }
      const first = r.divergences[0]
      const place = first && (first.now === null ? `event ${first.seq} of ${m.branch}` : `event ${first.now}`)
      this.host.toast(`Replayed ${plural('input', r.inputs)} of ${m.branch} with the current code onto ${r.branch.name}: ${r.diverged ? `${r.diverged} ${r.diverged === 1 ? 'diverges' : 'diverge'}${first ? `, first at ${place} (${first.what})` : ''}` : 'every outcome is the same'}.`, r.diverged ? 'warning' : 'done')
      const sel = first ? at(first) : { branch: r.branch.name, seq: r.branch.head }
      this.host.timeline().select(sel.branch, sel.seq)
    })
  }
}
