// Why the app cannot run at all, as the engine's status says it: it is
// 'ready' with a reason only while no code can start (a notebook that does
// not parse or compile, or a log that cannot be extended). The top bar's pill
// and every cell's badge read it here, so they never disagree.
import type { StatusView } from '../engine/protocol/messages.ts'

export function whyCannotRun(status: StatusView | null): string | null {
  return status?.state === 'ready' && status.waiting ? status.waiting : null
}
