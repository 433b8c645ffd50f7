// A notebook's grants are its author's until the owner allows them
// (engine/host/allowedGrants.ts): until then its reads and actions wait. The
// window says so, with what the grants reach, and an Allow button that does
// what `loom allow NB` does. Asked of the host when the page connects, when a
// read begins to wait and after a save; a guest is not asked (not theirs).
import type { EngineClient } from '../../engine/protocol/client.ts'
import type { StatusView } from '../../engine/protocol/messages.ts'
import type { Banner } from '../Banner.ts'

const KEY = 'allow-effects'

export class EffectsAllowance {
  private client: EngineClient | null = null
  private reading = false

  constructor(private readonly banner: Banner) {}

  /** A new connection; `owner`: this page may allow (a guest's may not). */
  attach(client: EngineClient, owner: boolean): void {
    this.client = owner ? client : null
    this.banner.hide(KEY)
    void this.check()
  }

  /** Each status: a read that begins to wait may be waiting for this. */
  status(status: StatusView): void {
    const reading = !!status.reading?.length
    if (reading && !this.reading) void this.check()
    this.reading = reading
  }

  /** The owner saved: the grants may have changed. */
  saved(): void {
    void this.check()
  }

  private async check(): Promise<void> {
    const client = this.client
    if (!client) return
    try {
      const { what } = await client.call('effectsToAllow', {})
      if (!what) return this.banner.hide(KEY)
      this.banner.show(KEY, 'warning', "This notebook's reads and actions wait until you allow what its front matter grants:", what.join(' · '), {
        label: 'Allow',
        title: 'Let this notebook reach these, as loom allow does, until its effects: front matter changes',
        run: () => void this.allow(client),
      })
    } catch {
      // An engine without a host to ask (or one that went away): nothing to say.
    }
  }

  private async allow(client: EngineClient): Promise<void> {
    try {
      await client.call('allowEffects', {})
      this.banner.hide(KEY)
      this.banner.toast('Allowed: its reads and actions go ahead', 'done')
    } catch (err) {
      this.banner.toast(`Not allowed: ${(err as Error).message}`, 'error')
    }
  }
}
