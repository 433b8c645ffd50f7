// The window's resizable panes: the side panel (state, event, agent and any
// panel added to it), the timeline's tracks and the terminal dock, each with
// a splitter on its inner edge. A splitter drags with the pointer, moves with
// the arrow keys when focused (Shift: further), and double-click or Enter
// gives the layout's own size back. Sizes are CSS variables on the window,
// so whatever a panel puts inside a pane is resized with it, and they are
// remembered per notebook (localStorage).
import { h } from '../dom.ts'

export type PaneName = 'side' | 'timeline' | 'dock'

export interface PaneSpec {
  name: PaneName
  /** The element the splitter sits on (its left or top edge). */
  host: HTMLElement
  edge: 'left' | 'top'
  /** The element whose size the variable sets, measured when a drag starts. */
  sized: () => HTMLElement | null
  label: string
  min: number
  /** The largest size the window has room for now. */
  max: () => number
}

const STEP = 16
const BIG_STEP = 64
const KEY = 'loom-panes:'

export class Panes {
  private readonly specs = new Map<PaneName, PaneSpec>()
  private readonly sizes: Partial<Record<PaneName, number>> = {}
  private notebook: string | null = null

  constructor(private readonly root: HTMLElement) {
    // A smaller window: sizes shown within what it has room for (the person's own kept for a larger one).
    window.addEventListener('resize', () => {
      for (const [name, size] of Object.entries(this.sizes) as [PaneName, number][]) this.show(name, size)
    })
  }

  add(spec: PaneSpec): HTMLElement {
    this.specs.set(spec.name, spec)
    const vertical = spec.edge === 'left'
    const splitter = h('div.splitter', {
      role: 'separator',
      tabindex: '0',
      'aria-orientation': vertical ? 'vertical' : 'horizontal',
      'aria-label': `Resize the ${spec.label} (arrow keys; double-click or Enter: default size)`,
      title: `Drag to resize the ${spec.label}; double-click for its default size`,
      'data-pane': spec.name,
    })
    // Dragging towards the pane's inside makes it smaller: the splitter is on its left or top edge.
    const grow = (from: number, to: number) => from - to
    splitter.addEventListener('pointerdown', (e) => {
      if (e.button !== 0) return
      e.preventDefault()
      splitter.focus()
      splitter.setPointerCapture(e.pointerId)
      splitter.dataset.dragging = ''
      document.body.classList.add('resizing', vertical ? 'cols' : 'rows')
      const start = vertical ? e.clientX : e.clientY
      const size = this.current(spec)
      const move = (m: PointerEvent) => this.apply(spec.name, size + grow(start, vertical ? m.clientX : m.clientY), false)
      const up = () => {
        splitter.removeEventListener('pointermove', move)
        delete splitter.dataset.dragging
        document.body.classList.remove('resizing', 'cols', 'rows')
        this.save()
      }
      splitter.addEventListener('pointermove', move)
      splitter.addEventListener('pointerup', up, { once: true })
      splitter.addEventListener('pointercancel', up, { once: true })
    })
    splitter.addEventListener('dblclick', () => this.reset(spec.name))
    splitter.addEventListener('keydown', (e) => {
      const step = e.shiftKey ? BIG_STEP : STEP
      const keys: Record<string, number | 'min' | 'max' | 'reset'> = vertical
        ? { ArrowLeft: step, ArrowRight: -step, Home: 'min', End: 'max', Enter: 'reset' }
        : { ArrowUp: step, ArrowDown: -step, Home: 'min', End: 'max', Enter: 'reset' }
      const k = keys[e.key]
      if (k === undefined) return
      // The timeline's arrow keys and the like are not for this key press.
      e.preventDefault()
      e.stopPropagation()
      if (k === 'reset') return this.reset(spec.name)
      this.apply(spec.name, k === 'min' ? spec.min : k === 'max' ? spec.max() : this.current(spec) + k)
    })
    spec.host.append(splitter)
    return splitter
  }

  /** Puts back the sizes kept for this notebook (the layout's own where none are). */
  restore(notebook: string): void {
    if (this.notebook === notebook) return
    this.notebook = notebook
    for (const name of this.specs.keys()) this.clear(name)
    for (const [name, size] of Object.entries(readSizes(notebook))) if (this.specs.has(name as PaneName)) this.apply(name as PaneName, size, false)
  }

  reset(name: PaneName): void {
    this.clear(name)
    this.save()
  }

  private clear(name: PaneName): void {
    delete this.sizes[name]
    this.root.style.removeProperty(variable(name))
    this.setSized()
    this.announce(name)
  }

  private apply(name: PaneName, size: number, save = true): void {
    const px = this.show(name, size)
    if (px === null) return
    this.sizes[name] = px
    this.setSized()
    this.announce(name)
    if (save) this.save()
  }

  /** Sets the pane's size, within what the window has room for now; answers the size set. */
  private show(name: PaneName, size: number): number | null {
    const spec = this.specs.get(name)
    if (!spec || !Number.isFinite(size)) return null
    const px = Math.round(Math.max(spec.min, Math.min(Math.max(spec.min, spec.max()), size)))
    this.root.style.setProperty(variable(name), `${px}px`)
    return px
  }

  private current(spec: PaneSpec): number {
    const el = spec.sized()
    if (!el) return spec.min
    const box = el.getBoundingClientRect()
    return spec.edge === 'left' ? box.width : box.height
  }

  /** Which panes have a size of the person's (CSS uses it where the layout's own size is not a variable). */
  private setSized(): void {
    this.root.dataset.sized = Object.keys(this.sizes).join(' ')
  }

  private announce(name: PaneName): void {
    const spec = this.specs.get(name)!
    const splitter = spec.host.querySelector<HTMLElement>(`:scope > .splitter[data-pane="${name}"]`)
    if (!splitter) return
    splitter.setAttribute('aria-valuemin', String(spec.min))
    splitter.setAttribute('aria-valuemax', String(Math.round(spec.max())))
    splitter.setAttribute('aria-valuenow', String(Math.round(this.sizes[name] ?? this.current(spec))))
  }

  private save(): void {
    if (this.notebook === null) return
    try {
      localStorage.setItem(KEY + this.notebook, JSON.stringify(this.sizes))
    } catch {
      // Storage off or full: the sizes last until the window closes.
    }
  }
}

function variable(name: PaneName): string {
  return `--${name}-${name === 'side' ? 'w' : 'h'}`
}

/** The sizes kept for a notebook; anything unreadable is ignored. */
function readSizes(notebook: string): Record<string, number> {
  try {
    const kept = JSON.parse(localStorage.getItem(KEY + notebook) ?? '{}') as unknown
    if (!kept || typeof kept !== 'object' || Array.isArray(kept)) return {}
    return Object.fromEntries(Object.entries(kept).filter(([, v]) => typeof v === 'number' && Number.isFinite(v)))
  } catch {
    return {}
  }
}
