// One place that makes xterm terminals look like the rest of the app.
import { Terminal } from '@xterm/xterm'
import { FitAddon } from '@xterm/addon-fit'
import { followTheme, terminalColours } from '../shell/theme.ts'

export interface FittedTerminal {
  term: Terminal
  fit(): void
}

export function makeTerminal(host: HTMLElement, label: string): FittedTerminal {
  const term = new Terminal({
    fontFamily: 'ui-monospace, "JetBrains Mono", "SF Mono", Menlo, Consolas, "DejaVu Sans Mono", monospace',
    fontSize: 13,
    lineHeight: 1.25,
    cursorBlink: true,
    convertEol: false,
    scrollback: 5000,
    theme: terminalColours(),
  })
  const fitAddon = new FitAddon()
  term.loadAddon(fitAddon)
  term.open(host)
  term.textarea?.setAttribute('aria-label', label)
  const fit = () => {
    if (host.offsetParent !== null) fitAddon.fit()
  }
  new ResizeObserver(fit).observe(host)
  followTheme((t) => (term.options.theme = terminalColours(t)))
  return { term, fit }
}
