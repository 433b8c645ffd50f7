// Where the shared document's sync server listens, on whichever listener
// carries it. Apart from syncServer.ts so `loom serve` can name it without
// loading Yjs when nothing is shared.
export const SYNC_PATH = '/sync'
