// The dock at the bottom: the app's terminal (sys.tty output, input to
// sys.tty.read) and a read-only REPL over the state at the selected moment.
import type { EngineClient } from '../../engine/protocol/client.ts'
import { h } from '../dom.ts'
import { LineInput } from './LineInput.ts'
import { makeTerminal, type FittedTerminal } from './xterm.ts'

type Tab = 'terminal' | 'repl'

export class TerminalDock {
  readonly element: HTMLElement
  private client: EngineClient | null = null
  private moment: { branch: string; at: number } | null = null
  private readonly tty: FittedTerminal
  private readonly ttyLine: LineInput
  private readonly repl: FittedTerminal
  private readonly replLine: LineInput
  private readonly tabs: Record<Tab, { button: HTMLElement; pane: HTMLElement; term: FittedTerminal }>
  private readonly hint: HTMLElement

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
    this.tty = makeTerminal(ttyPane, 'Terminal input')
    this.ttyLine = new LineInput(this.tty.term, '', (line) => this.sendInput(line))
    this.repl = makeTerminal(replPane, 'REPL input')
    this.replLine = new LineInput(this.repl.term, '\x1b[38;2;122;162;247m›\x1b[0m ', (line) => this.evaluate(line))
    this.replLine.print('\x1b[2mEvaluates an expression against the state at the head, read-only: accounts.get(\'alice\')\x1b[0m\n')
    this.tabs = {
      terminal: { button: ttyButton, pane: ttyPane, term: this.tty },
      repl: { button: replButton, pane: replPane, term: this.repl },
    }
    this.select('terminal', false)
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
    this.ttyLine.print(text)
  }

  /** A line from the engine itself (restarts, lost connection), dimmed so it is not mistaken for the app's output. */
  note(text: string): void {
    this.ttyLine.print(`\x1b[2m${text}\x1b[0m\n`)
  }

  select(tab: Tab, focus = true): void {
    for (const [name, t] of Object.entries(this.tabs)) {
      const on = name === tab
      t.button.classList.toggle('active', on)
      t.button.setAttribute('aria-selected', String(on))
      t.pane.hidden = !on
    }
    this.hint.textContent = tab === 'terminal' ? 'type a line: it goes to sys.tty.read' : this.replHint()
    requestAnimationFrame(() => {
      this.tabs[tab].term.fit()
      if (focus) this.tabs[tab].term.term.focus()
    })
  }

  fit(): void {
    this.tty.fit()
    this.repl.fit()
  }

  private sendInput(line: string): void {
    this.client?.call('ttyInput', { text: `${line}\n` }).catch((err: Error) => this.note(`input not delivered: ${err.message}`))
  }

  private replHint(): string {
    return this.moment ? `read-only: the state at ${this.moment.branch} · event ${this.moment.at} (the selected moment)` : 'read-only: the state at the head'
  }

  private async evaluate(expr: string): Promise<void> {
    if (!expr.trim()) return
    if (!this.client) return this.replLine.print('\x1b[31mnot connected to the engine\x1b[0m\n')
    try {
      const { value } = await this.client.call('evaluate', { expr, ...this.moment })
      this.replLine.print(`${colour(JSON.stringify(value, null, 2) ?? 'undefined')}\n`)
    } catch (err) {
      this.replLine.print(`\x1b[31m${(err as Error).message}\x1b[0m\n`)
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
