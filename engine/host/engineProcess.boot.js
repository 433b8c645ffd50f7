// The engine process run from source: registers the TypeScript loader, then
// starts. `loom serve` and the desktop app run the bundle instead
// (dist/engine/engineProcess.js, see scripts/build-engine.ts): tsx compiles
// through esbuild's child process, which a confined engine process may not
// start. This entry is for running the engine unconfined from source.
import { register } from 'tsx/esm/api'

register()
await import('./engineProcess.ts')
