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

// eslint-disable-next-line no-control-regex
const SGR = /^\u001b\[[0-9;:]*m/
// eslint-disable-next-line no-control-regex
const SGR_OR_LINE = /^\u001b\[[0-9;:]*[mAK]/
/** The longest colour sequence waited for across chunks; an ESC with more after it that is not one is escaped. */
const SGR_MAX = 32

/**
 * A confined process's output as it streams to the terminal (the app's
 * sys.tty.write, and what it says on stderr): colours (SGR, `ESC [ … m`),
 * lines, tabs and carriage returns pass; every other control character is
 * shown as its escape — so a notebook cannot set the clipboard (OSC 52), the
 * title, or clear the screen. A colour cut across two chunks is held until
 * the next. Call with no text at the end: what is held is let out, escaped.
 * `lines`: cursor up and erase line pass too (explore's progress line, on stderr).
 */
export function terminalStream(lines = false): (chunk?: string) => string {
  const kept = lines ? SGR_OR_LINE : SGR
  let held = ''
  return (chunk) => {
    let text = held + (chunk ?? '')
    held = ''
    let out = ''
    for (;;) {
      const at = text.indexOf('\u001b')
      if (at < 0) break
      out += keepLines(text.slice(0, at))
      const rest = text.slice(at)
      const sgr = kept.exec(rest)
      if (sgr) {
        out += sgr[0]
        text = rest.slice(sgr[0].length)
      } else if (chunk !== undefined && rest.length < SGR_MAX && /^\u001b(\[[0-9;:]*)?$/.test(rest)) {
        // Maybe the start of a colour: wait for the rest.
        held = rest
        return out
      } else {
        out += escape('\u001b')
        text = rest.slice(1)
      }
    }
    return out + keepLines(text)
  }
}

// eslint-disable-next-line no-control-regex
const CONTROL_BUT_TERMINAL_LINES = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g
const keepLines = (t: string) => t.replace(CONTROL_BUT_TERMINAL_LINES, escape)
