// Text from a log or a notebook printed on a terminal: a control character
// (an escape sequence can set the window title, the clipboard, or clear the
// screen) is shown as its JSON escape, never sent to the terminal. Inside a
// JSON string that escape means the same character, so --json output reads
// back the same.
import type { Io } from './main.ts'

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g
// eslint-disable-next-line no-control-regex
const CONTROL_BUT_LINES = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g
const escape = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`

/** One line's worth: every control character escaped, newlines and tabs too. */
export function printable(text: string): string {
  return text.replace(CONTROL, escape)
}

/** `io` for a command that prints what a log holds: lines and tabs kept, every other control character escaped. */
export function screened(io: Io): Io {
  return { ...io, out: (t) => io.out(t.replace(CONTROL_BUT_LINES, escape)), err: (t) => io.err(t.replace(CONTROL_BUT_LINES, escape)) }
}
