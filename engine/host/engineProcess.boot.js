// Entry of the engine process (a Node child process under `loom serve`, or
// Electron's utilityProcess): register the TypeScript loader, then start.
import { register } from 'tsx/esm/api'

register()
await import('./engineProcess.ts')
