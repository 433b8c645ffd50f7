// Entry of the log's writer thread: threads do not inherit the TypeScript
// loader, so register it here, then load the writer.
import { register } from 'tsx/esm/api'

register()
await import('./logWriter.ts')
