// Every key the window knows, in one table: the handlers ask it which
// shortcut a key press is, and the `?` overlay lists it, so the list shown
// is the list handled. A key is written as the person presses it: 'F8',
// 'E', '?', 'ArrowLeft', 'Mod+S' (Ctrl, or ⌘ on a Mac).

export type ShortcutId =
  | 'save' | 'runPause' | 'step' | 'shortcuts' | 'close'
  | 'nextProblem' | 'fork' | 'promote' | 'verify' | 'rerun'
  | 'previousEvent' | 'nextEvent' | 'firstEvent' | 'lastEvent' | 'back10' | 'forward10'
  | 'undoStateEdit'

export interface Shortcut {
  id: ShortcutId
  keys: string[]
  what: string
  group: 'Window' | 'Timeline' | 'State'
  /** Also while the person types in a cell or a field (Save, Run, Step); otherwise only outside them. */
  whileTyping?: boolean
}

export const SHORTCUTS: readonly Shortcut[] = [
  { id: 'runPause', keys: ['F8'], what: 'Run or pause the app', group: 'Window', whileTyping: true },
  { id: 'step', keys: ['F10'], what: 'Step: one transaction, while paused', group: 'Window', whileTyping: true },
  { id: 'save', keys: ['Mod+S'], what: 'Save the notebook to its file', group: 'Window', whileTyping: true },
  { id: 'shortcuts', keys: ['?'], what: 'Show these keyboard shortcuts', group: 'Window' },
  { id: 'close', keys: ['Escape'], what: 'Close this list, a menu or a form', group: 'Window', whileTyping: true },
  { id: 'nextProblem', keys: ['E'], what: 'Go to the next event after which a test failed or a transaction threw', group: 'Timeline' },
  { id: 'previousEvent', keys: ['ArrowLeft'], what: 'Select the previous event (Shift: 10 back)', group: 'Timeline' },
  { id: 'nextEvent', keys: ['ArrowRight'], what: 'Select the next event (Shift: 10 on)', group: 'Timeline' },
  { id: 'back10', keys: ['PageUp'], what: '10 events back', group: 'Timeline' },
  { id: 'forward10', keys: ['PageDown'], what: '10 events on', group: 'Timeline' },
  { id: 'firstEvent', keys: ['Home'], what: 'The start of the branch, before its first event', group: 'Timeline' },
  { id: 'lastEvent', keys: ['End'], what: 'The live head: follow events as they come', group: 'Timeline' },
  { id: 'fork', keys: ['F'], what: 'Fork a new branch at the selected moment', group: 'Timeline' },
  { id: 'promote', keys: ['P'], what: 'Promote the selected branch: the app runs it from now on', group: 'Timeline' },
  { id: 'verify', keys: ['V'], what: 'Replay-verify the visible range', group: 'Timeline' },
  { id: 'rerun', keys: ['R'], what: 'Replay the branch with the current code', group: 'Timeline' },
  { id: 'undoStateEdit', keys: ['Mod+Z'], what: 'Undo the last hand edit of the state (in a cell it undoes typing)', group: 'State' },
]

const MAC = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform)

function matches(key: string, e: KeyboardEvent): boolean {
  const mod = e.ctrlKey || e.metaKey
  if (key.startsWith('Mod+')) return mod && !e.altKey && !e.shiftKey && e.key.toLowerCase() === key.slice(4).toLowerCase()
  if (mod || e.altKey) return false
  // A letter: plain only (Shift+F is no shortcut); '?' is typed with Shift on most layouts; arrows take Shift as "by 10".
  if (/^[A-Z]$/.test(key)) return !e.shiftKey && e.key.toLowerCase() === key.toLowerCase()
  return e.key === key
}

/** Which of `among` (default: all) this key press is, or null. */
export function shortcutOf<T extends ShortcutId = ShortcutId>(e: KeyboardEvent, among?: readonly T[]): T | null {
  for (const s of SHORTCUTS) if ((!among || (among as readonly ShortcutId[]).includes(s.id)) && s.keys.some((k) => matches(k, e))) return s.id as T
  return null
}

/** Whether the person is typing: in a cell's editor, the terminal, a field. Most keys are then theirs, not the window's. */
export function typing(e: KeyboardEvent): boolean {
  const t = e.target as HTMLElement | null
  return !!t && (t.isContentEditable || !!t.closest?.('input, textarea, select, .monaco-editor, .xterm'))
}

/** A key as it is shown: 'Mod+S' → 'Ctrl+S' (⌘S on a Mac), 'ArrowLeft' → '←'. */
export function keyLabel(key: string): string {
  const names: Record<string, string> = { ArrowLeft: '←', ArrowRight: '→', Escape: 'Esc', PageUp: 'Page Up', PageDown: 'Page Down' }
  if (key.startsWith('Mod+')) return MAC ? `⌘${key.slice(4)}` : `Ctrl+${key.slice(4)}`
  return names[key] ?? key
}

/** The first key of a shortcut, as shown (for tooltips). */
export function keyOf(id: ShortcutId): string {
  return keyLabel(SHORTCUTS.find((s) => s.id === id)!.keys[0]!)
}
