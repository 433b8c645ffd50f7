// Who you are in a shared session: a name (from the link's `?name=`, else
// the one you gave last time, else "owner" for the person who shares and
// "guest N" for a guest) and a colour that tells you
// apart from the others on their screens.
const KEY = 'loom.name'

/** Colours that read well on the dark theme and differ from each other and from the event kinds' greens. */
const PALETTE = ['#f7768e', '#e0af68', '#7aa2f7', '#bb9af7', '#2ac3de', '#ff9e64', '#c0caf5', '#f4a6d7']

export function colourOf(client: number): string {
  return PALETTE[client % PALETTE.length]!
}

/** A name up to 40 characters with no line breaks, or null if nothing is left. */
export function cleanName(name: string | null | undefined): string | null {
  const n = (name ?? '').replace(/\s+/g, ' ').trim().slice(0, 40)
  return n === '' ? null : n
}

/** The name to show: the link's, else the last one given, else 'owner' for the person who shares and 'guest N' for a guest. */
export function chooseName(params: URLSearchParams, client: number, owner = false): string {
  const given = cleanName(params.get('name'))
  if (given) {
    rememberName(given)
    return given
  }
  try {
    const stored = cleanName(localStorage.getItem(KEY))
    if (stored) return stored
  } catch {
    // storage may be off (private windows): a default name still works
  }
  return owner ? 'owner' : `guest ${client % 100}`
}

export function rememberName(name: string): void {
  try {
    localStorage.setItem(KEY, name)
  } catch {
    // as above
  }
}
