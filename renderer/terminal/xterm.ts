// One place that makes xterm terminals look like the rest of the app.
import { Terminal } from '@xterm/xterm'
import { FitAddon } from '@xterm/addon-fit'

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
    theme: {
      background: '#14161b',
      foreground: '#cfd3da',
      cursor: '#7aa2f7',
      selectionBackground: '#2f4a6b',
      black: '#1d2128', red: '#f7768e', green: '#9ece6a', yellow: '#e0af68',
      blue: '#7aa2f7', magenta: '#bb9af7', cyan: '#7dcfff', white: '#cfd3da',
      brightBlack: '#4b5260',
    },
  })
  const fitAddon = new FitAddon()
  term.loadAddon(fitAddon)
  term.open(host)
  term.textarea?.setAttribute('aria-label', label)
  const fit = () => {
    if (host.offsetParent !== null) fitAddon.fit()
  }
  new ResizeObserver(fit).observe(host)
  return { term, fit }
}
