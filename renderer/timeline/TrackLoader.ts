// What the timeline's view needs from the log, fetched after the view
// settles: each visible track's bins — one per event zoomed in, drawn one by
// one, or wider zoomed out — and the minimap's bins of the live branch. Every
// range is read one way, the engine's `timeline` request. Calls meanwhile
// (every wheel tick, every burst of events) share one fetch; one runs at a time.
import type { EngineClient } from '../../engine/protocol/client.ts'
import type { TimelineBin } from '../../engine/protocol/messages.ts'
import { binSet, DETAIL_MAX, evict, keep, lite, trackStart, type BinSet, type TrackData } from './track.ts'

/** What the loader reads of the timeline, and how it asks for a redraw. */
export interface LoaderView {
  readonly tracks: Map<string, TrackData>
  order(): string[]
  visibleRange(): [number, number]
  width(): number
  live(): string
  draw(): void
}

export class TrackLoader {
  /** The minimap's bins, and the live head they were fetched for. */
  miniBins: BinSet | null = null
  miniFetched = 0
  private client: EngineClient | null = null
  private timer: number | null = null
  private fetching = false
  private again = false

  constructor(private readonly view: LoaderView) {}

  /** A new connection: everything cached is fetched afresh. */
  attach(client: EngineClient): void {
    this.client = client
    for (const t of this.view.tracks.values()) {
      t.bins = null
      t.events.clear()
      t.kinds.clear()
    }
    this.miniFetched = 0
    this.queue()
  }

  /** Fetches what the view needs after `delay` ms; calls meanwhile (every wheel tick) share that one fetch. */
  queue(delay = 60): void {
    if (this.timer !== null && delay > 0) return
    if (this.timer !== null) window.clearTimeout(this.timer)
    this.timer = window.setTimeout(() => {
      this.timer = null
      void this.fetch()
    }, delay)
  }

  private async fetch(): Promise<void> {
    const client = this.client
    if (!client) return
    if (this.fetching) {
      this.again = true
      return
    }
    this.fetching = true
    try {
      const [va, vb] = this.view.visibleRange()
      const jobs: Promise<void>[] = []
      // Bins asked this round, by request: the minimap's is often the live track's own (the whole history, zoomed out).
      const asked = new Map<string, Promise<TimelineBin[] | null>>()
      const bins = (branch: string, from: number, to: number, count: number) => {
        const key = `${branch}:${from}:${to}:${count}`
        let p = asked.get(key)
        if (!p) asked.set(key, (p = client.call('timeline', { branch, from, to, bins: count }).then((r) => r.bins, () => null)))
        return p
      }
      for (const name of this.view.order()) {
        const t = this.view.tracks.get(name)!
        const a = Math.max(trackStart(t), Math.floor(va))
        const b = Math.min(t.branch.head, Math.ceil(vb))
        if (b < a) continue
        const n = b - a + 1
        if (n <= DETAIL_MAX) jobs.push(this.fetchEvents(client, t, a, b))
        else {
          const count = Math.max(1, Math.min(n, Math.floor(this.view.width() / 2), 10_000))
          const have = t.bins
          if (have && have.from === a && have.to === b && have.bins.length === count) continue
          jobs.push(bins(name, a, b, count).then((r) => {
            if (r) t.bins = binSet(a, b, r, 'share')
          }))
        }
      }
      const liveName = this.view.live()
      const live = this.view.tracks.get(liveName)
      if (live && live.branch.head !== this.miniFetched && live.branch.head > 0) {
        const head = live.branch.head
        jobs.push(bins(liveName, 1, head, Math.max(1, Math.min(head, Math.floor(this.view.width() / 2), 10_000))).then((r) => {
          if (!r) return
          this.miniBins = binSet(1, head, r, 'max')
          this.miniFetched = head
        }))
      }
      await Promise.all(jobs)
      this.view.draw()
    } finally {
      this.fetching = false
      if (this.again) {
        this.again = false
        this.queue()
      }
    }
  }

  /** The events a..b of a track not cached yet (at most DETAIL_MAX): one bin each. */
  private async fetchEvents(client: EngineClient, t: TrackData, a: number, b: number): Promise<void> {
    let from = a
    while (from <= b && t.events.has(from)) from++
    let to = b
    while (to >= from && t.events.has(to)) to--
    if (from <= to) {
      const r = await client.call('timeline', { branch: t.branch.name, from, to, bins: to - from + 1 }).catch(() => null)
      for (const bin of r?.bins ?? []) if (bin.from === bin.to) keep(t, lite(bin))
    }
    evict(t, a, b)
  }
}
