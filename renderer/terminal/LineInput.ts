// A cooked-mode line editor on an xterm: typed characters are echoed and
// edited locally and handed over a line at a time, and output that arrives
// meanwhile is printed above the line being typed without garbling it.
import type { Terminal } from '@xterm/xterm'

export class LineInput {
  private buffer = ''
  /** Output written since the last newline: the input line continues after it. */
  private partial = ''
  private readonly history: string[] = []
  private recalled = -1

  constructor(
    private readonly term: Terminal,
    private readonly prompt: string,
    private readonly onLine: (line: string) => void,
  ) {
    term.onData((data) => this.input(data))
    term.write(prompt)
  }

  /** Prints output, keeping the line being typed below it. */
  print(text: string): void {
    if (!text) return
    const all = this.partial + text
    const cut = all.lastIndexOf('\n')
    this.partial = cut < 0 ? all : all.slice(cut + 1)
    this.term.write(`\r\x1b[2K${crlf(all)}${this.prompt}${this.buffer}`)
  }

  private input(data: string): void {
    if (data.startsWith('\x1b')) return this.escape(data)
    for (const ch of data) {
      if (ch === '\r' || ch === '\n') this.enter()
      else if (ch === '\x7f' || ch === '\b') this.backspace()
      else if (ch === '\x15') this.replace('') // Ctrl+U
      else if (ch >= ' ') {
        this.buffer += ch
        this.term.write(ch)
      }
    }
  }

  private enter(): void {
    const line = this.buffer
    this.buffer = ''
    this.recalled = -1
    this.partial = ''
    this.term.write('\r\n')
    if (line.trim() && this.history[this.history.length - 1] !== line) this.history.push(line)
    this.term.write(this.prompt)
    this.onLine(line)
  }

  private backspace(): void {
    if (!this.buffer) return
    const chars = [...this.buffer]
    chars.pop()
    this.buffer = chars.join('')
    this.term.write('\b \b')
  }

  private escape(seq: string): void {
    if (!this.history.length) return
    if (seq === '\x1b[A') this.recalled = this.recalled < 0 ? this.history.length - 1 : Math.max(0, this.recalled - 1)
    else if (seq === '\x1b[B') this.recalled = this.recalled < 0 ? -1 : this.recalled + 1
    else return
    if (this.recalled >= this.history.length) this.recalled = -1
    this.replace(this.recalled < 0 ? '' : this.history[this.recalled]!)
  }

  private replace(line: string): void {
    this.buffer = line
    this.term.write(`\r\x1b[2K${this.partial}${this.prompt}${line}`)
  }
}

export function crlf(text: string): string {
  return text.replace(/\r?\n/g, '\r\n')
}
