// The state at the selected moment, read from the engine: one read at a time
// (a moment that moved meanwhile is read once the last read is in), and the
// numeric states' sparklines over the branch, read at most every 300 ms.
import type { EngineClient } from '../../engine/protocol/client.ts'
import type { BranchView, StateValue } from '../../engine/protocol/messages.ts'
import type { SelectedMoment } from './moment.ts'
import { EFFECTS_STATE } from '../../engine/protocol/effectLine.ts'
import { redactCredentials } from '../../engine/protocol/redactCredentials.ts'

export interface StateAtMomentHost {
  client(): EngineClient | null
  moment(): SelectedMoment | null
  branch(name: string): BranchView | undefined
  /** The state at `m`, read (m is still the selected moment). */
  show(m: SelectedMoment, values: Record<string, StateValue>): void
  series(series: { at: number[]; values: Record<string, (number | null)[]> }): void
}

export class StateAtMoment {
  private fetching = { running: false, again: false }
  private seriesTimer: number | null = null
  private seriesKey = ''

  constructor(private readonly host: StateAtMomentHost) {}

  load(m: SelectedMoment): void {
    const client = this.host.client()
    if (!client) return
    if (this.fetching.running) {
      this.fetching.again = true
      return
    }
    this.fetching.running = true
    client.call('state', { branch: m.branch, at: m.seq }).then(
      (s) => {
        const now = this.host.moment() ?? m
        if (now.branch !== s.branch || now.seq !== s.at) return
        // The responses effects recorded are shown with their credentials blanked (Set-Cookie, a token in a header).
        const effects = s.values[EFFECTS_STATE]
        this.host.show(now, effects ? { ...s.values, [EFFECTS_STATE]: redactCredentials(effects) } : s.values)
      },
      (err: Error) => console.error('loom: could not read the state', err),
    ).finally(() => {
      this.fetching.running = false
      if (this.fetching.again) {
        this.fetching.again = false
        const now = this.host.moment()
        if (now) this.load(now)
      }
    })
  }

  /** The sparklines again soon (a moment that did not move still shows newer ones). */
  queueSeries(): void {
    if (this.seriesTimer !== null) return
    this.seriesTimer = window.setTimeout(() => {
      this.seriesTimer = null
      void this.loadSeries()
    }, 300)
  }

  private async loadSeries(): Promise<void> {
    const client = this.host.client()
    const m = this.host.moment()
    if (!client || !m) return
    const b = this.host.branch(m.branch)
    const head = Math.max(b?.head ?? m.seq, m.seq)
    const key = `${m.branch}:${head}:${m.seq}`
    if (key === this.seriesKey || head < 1) return
    this.seriesKey = key
    try {
      const s = await client.call('state', { branch: m.branch, at: m.seq })
      const numeric = Object.entries(s.values).filter(([, v]) => (v.kind === 'var' || v.kind === 'counter') && typeof v.value === 'number').map(([k]) => k)
      if (!numeric.length) return
      this.host.series(await client.call('series', { branch: m.branch, states: numeric, from: 1, to: head, points: 120 }))
    } catch {
      // sparklines are a nicety
    }
  }
}
