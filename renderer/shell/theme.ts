// The window's colour scheme: dark, or light when the person's system asks
// for it (prefers-color-scheme), following it live. CSS follows it by itself
// (styles.css's media query); what draws its own colours — Monaco, xterm, the
// timeline's canvas — asks here and is told when it changes.

export type Theme = 'dark' | 'light'

const query = typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: light)') : null
const listeners = new Set<(theme: Theme) => void>()

export function theme(): Theme {
  return query?.matches ? 'light' : 'dark'
}

/** Calls `fn` with the theme now and at every change; returns how to stop. */
export function followTheme(fn: (theme: Theme) => void): () => void {
  listeners.add(fn)
  fn(theme())
  return () => listeners.delete(fn)
}

query?.addEventListener('change', () => {
  const t = theme()
  document.documentElement.dataset.theme = t
  for (const fn of listeners) fn(t)
})
if (typeof document !== 'undefined') document.documentElement.dataset.theme = theme()

/** The colours the timeline's canvas draws with, per theme (the CSS variables' values, which a canvas cannot read cheaply per frame). */
export interface CanvasPalette {
  background: string
  track: string
  trackSelected: string
  grid: string
  axisBackground: string
  axisText: string
  text: string
  textOnAccent: string
  accent: string
  accentSoft: string
  cursor: string
  bin: string
}

const CANVAS: Record<Theme, CanvasPalette> = {
  dark: {
    background: '#15181e', track: '#191c23', trackSelected: '#1e2430', grid: '#262b34', axisBackground: '#15181e', axisText: '#6b7383',
    text: '#d7dae0', textOnAccent: '#0f1320', accent: '#7aa2f7', accentSoft: '#7aa2f71c', cursor: '#e6e9ee', bin: '#2a2f3a',
  },
  light: {
    background: '#f6f7f9', track: '#eceef2', trackSelected: '#dde5f5', grid: '#d5d9e0', axisBackground: '#f6f7f9', axisText: '#6a7280',
    text: '#1f2430', textOnAccent: '#ffffff', accent: '#3b6fd8', accentSoft: '#3b6fd81f', cursor: '#1f2430', bin: '#c9ced8',
  },
}

export function canvasPalette(): CanvasPalette {
  return CANVAS[theme()]
}

/** xterm's colours per theme. */
export function terminalColours(t: Theme = theme()): Record<string, string> {
  return t === 'light'
    ? {
        background: '#fafbfc', foreground: '#24292f', cursor: '#3b6fd8', selectionBackground: '#b6cdf5',
        black: '#24292f', red: '#cf222e', green: '#1a7f37', yellow: '#9a6700', blue: '#0969da', magenta: '#8250df', cyan: '#1b7c83', white: '#6e7781',
        brightBlack: '#57606a',
      }
    : {
        background: '#14161b', foreground: '#cfd3da', cursor: '#7aa2f7', selectionBackground: '#2f4a6b',
        black: '#1d2128', red: '#f7768e', green: '#9ece6a', yellow: '#e0af68', blue: '#7aa2f7', magenta: '#bb9af7', cyan: '#7dcfff', white: '#cfd3da',
        brightBlack: '#4b5260',
      }
}
