// Entry of an exploration thread: threads do not inherit the TypeScript
// loader, so register it here, then load the shard.
import { register } from 'tsx/esm/api'

register()
await import('./exploreWorker.ts')
