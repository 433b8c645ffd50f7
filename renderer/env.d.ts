// What the renderer's build provides beyond plain TypeScript.

/** The text of notebook/loom-api.d.ts (the API inside cells), handed to Monaco as an extra library. */
declare module 'loom:api-types' {
  const text: string
  export default text
}

/** The preload bridge Electron exposes (absent in a browser). */
interface LoomBridge {
  send(message: unknown): void
  onMessage(fn: (message: unknown) => void): (() => void) | void
  /** Menu commands the page carries out itself (absent in older shells). */
  onMenu?(fn: (command: 'save') => void): () => void
}

interface Window {
  loom?: LoomBridge
}

/** Stylesheets imported for their effect: the build gathers them into main.css. */
declare module '*.css' {}
