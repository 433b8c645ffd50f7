// Text from a log or a notebook printed on a terminal: a control character
// (an escape sequence can set the window title, the clipboard, or clear the
// screen) is shown as its JSON escape, never sent to the terminal.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g

export function printable(text: string): string {
  return text.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}
