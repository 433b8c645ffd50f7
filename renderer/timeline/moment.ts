// The selected moment: one event of one branch. Everything in the window that
// shows state (the state editor, live values beside cells, the REPL, event
// details) shows it as it was at this moment.
import type { EventRecord, Moment } from '../../engine/protocol/messages.ts'

type EventKind = EventRecord['kind']

/** The moment the window shows (engine/protocol's Moment), and whether it is the live head. */
export interface SelectedMoment extends Moment {
  /** True when the moment is the live branch's head (edits are allowed there). */
  live: boolean
}

export const KIND_COLOURS: Record<EventKind | string, string> = {
  start: '#e0af68',
  step: '#9ece6a',
  http: '#7dcfff',
  gui: '#bb9af7',
  edit: '#ff9e64',
  code: '#7aa2f7',
  halt: '#f7768e',
  effect: '#73daca',
}

export const KINDS = ['start', 'step', 'http', 'gui', 'edit', 'code', 'halt', 'effect'] as const
