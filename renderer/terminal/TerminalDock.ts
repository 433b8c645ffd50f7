// The dock at the bottom: the app's terminal (sys.tty output, input to
// sys.tty.read) and a read-only REPL over the state at the selected moment.
// xterm (a third of the page's own code) loads once the cells are on screen:
// what arrives before is printed when it has.
import type { EngineClient } from '../../engine/protocol/client.ts'
import { h } from '../dom.ts'
import { LineInput } from './LineInput.ts'
import type { FittedTerminal } from './xterm.ts'
// Its styles with the page's (a lazily loaded module's CSS would not be linked).
import '@xterm/xterm/css/xterm.css'

type Tab = 'terminal' | 'repl'

interface Pane {
  button: HTMLElement
  pane: HTMLElement
  term: FittedTerminal | null
  line: LineInput | null
  /** Printed before the terminal was there. */
  early: string
}

export class TerminalDock {
  readonly element: HTMLElement
  private client: EngineClient | null = null
  private moment: { branch: string; at: number } | null = null
  private readonly tabs: Record<Tab, Pane>
  private readonly hint: HTMLElement
  private loading: Promise<void> | null = null
  private selected: { tab: Tab; focus: boolean } = { tab: 'terminal', focus: false }

  constructor() {
    const ttyPane = h('div.dock-pane', { 'data-tab': 'terminal' })
    const replPane = h('div.dock-pane', { 'data-tab': 'repl', hidden: true })
    this.hint = h('span.dock-hint', null, '')
    const ttyButton = h('button.dock-tab', { type: 'button', role: 'tab', onclick: () => this.select('terminal') }, 'Terminal')
    const replButton = h('button.dock-tab', { type: 'button', role: 'tab', onclick: () => this.select('repl') }, 'REPL')
    this.element = h('section.dock', { 'aria-label': 'Terminal' },
      h('div.dock-head', { role: 'tablist' }, ttyButton, replButton, this.hint),
      h('div.dock-body', null, ttyPane, replPane),
    )
    this.tabs = {
      terminal: { button: ttyButton, pane: ttyPane, term: null, line: null, early: '' },
      repl: { button: replButton, pane: replPane, term: null, line: null, early: '\x1b[2mEvaluates an expression against the state at the head, read-only: accounts.get(\'alice\')\x1b[0m\n' },
    }
    this.select('terminal', false)
  }

  /** Loads xterm and opens both terminals (once); the app calls it when the cells are on screen. */
  load(): Promise<void> {
    this.loading ??= import('./xterm.ts').then(({ makeTerminal }) => {
      const open = (tab: Tab, label: string, prompt: string, enter: (line: string) => void) => {
        const t = this.tabs[tab]
        t.term = makeTerminal(t.pane, label)
        t.line = new LineInput(t.term.term, prompt, enter)
        if (t.early) t.line.print(t.early)
        t.early = ''
      }
      open('terminal', 'Terminal input', '', (line) => this.sendInput(line))
      open('repl', 'REPL input', '\x1b[38;2;122;162;247m›\x1b[0m ', (line) => void this.evaluate(line))
      this.select(this.selected.tab, this.selected.focus)
    })
    return this.loading
  }

  attach(client: EngineClient): void {
    this.client = client
  }

  /** The REPL evaluates at this moment (null: the live head). */
  setMoment(moment: { branch: string; at: number } | null): void {
    this.moment = moment
    if (this.tabs.repl.button.classList.contains('active')) this.hint.textContent = this.replHint()
  }

  /** Output the app wrote with sys.tty.write. */
  output(text: string): void {
    this.print('terminal', text)
  }

  /** A line from the engine itself (restarts, lost connection), dimmed so it is not mistaken for the app's output. */
  note(text: string): void {
    this.print('terminal', `\x1b[2m${text}\x1b[0m\n`)
  }

  private print(tab: Tab, text: string): void {
    const t = this.tabs[tab]
    if (t.line) t.line.print(text)
    else t.early += text
  }

  select(tab: Tab, focus = true): void {
    for (const [name, t] of Object.entries(this.tabs)) {
      const on = name === tab
      t.button.classList.toggle('active', on)
      t.button.setAttribute('aria-selected', String(on))
      t.pane.hidden = !on
    }
    this.hint.textContent = tab === 'terminal' ? 'type a line: it goes to sys.tty.read' : this.replHint()
    this.selected = { tab, focus }
    requestAnimationFrame(() => {
      this.tabs[tab].term?.fit()
      if (focus) this.tabs[tab].term?.term.focus()
    })
  }

  fit(): void {
    for (const t of Object.values(this.tabs)) t.term?.fit()
  }

  private sendInput(line: string): void {
    this.client?.call('ttyInput', { text: `${line}\n` }).catch((err: Error) => this.note(`input not delivered: ${err.message}`))
  }

  private replHint(): string {
    return this.moment ? `read-only: the state at ${this.moment.branch} · event ${this.moment.at} (the selected moment)` : 'read-only: the state at the head'
  }

  private async evaluate(expr: string): Promise<void> {
    if (!expr.trim()) return
    if (!this.client) return this.print('repl', '\x1b[31mnot connected to the engine\x1b[0m\n')
    try {
      const { value } = await this.client.call('evaluate', { expr, ...this.moment })
      this.print('repl', `${colour(JSON.stringify(value, null, 2) ?? 'undefined')}\n`)
    } catch (err) {
      this.print('repl', `\x1b[31m${(err as Error).message}\x1b[0m\n`)
    }
  }
}

function colour(json: string): string {
  return json.replace(/("(?:[^"\\]|\\.)*")(\s*:)?|\b(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)\b|\b(true|false|null)\b/g, (m, str: string | undefined, colon: string | undefined, num: string | undefined, lit: string | undefined) => {
    if (str) return colon ? `\x1b[38;2;125;207;255m${str}\x1b[0m${colon}` : `\x1b[38;2;158;206;106m${str}\x1b[0m`
    if (num) return `\x1b[38;2;247;178;103m${num}\x1b[0m`
    if (lit) return `\x1b[38;2;187;154;247m${lit}\x1b[0m`
    return m
  })
}
