// What y-monaco takes from Monaco, from the app's own Monaco: the build
// points y-monaco's `monaco-editor/esm/vs/editor/editor.api.js` here, so
// there is one Monaco in the bundle (scripts/build-renderer.ts, oneMonaco).
import { monaco } from '../notebook/monaco.ts'

export const { Range, Selection, SelectionDirection } = monaco
