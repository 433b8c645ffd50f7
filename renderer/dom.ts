// A tiny helper for building DOM trees without a framework: h('div.cell', {title: 'x'}, child, 'text').

type Child = Node | string | null | undefined | false
type Attrs = Record<string, string | boolean | number | EventListener | undefined>

export function h<K extends keyof HTMLElementTagNameMap>(tagAndClasses: K | `${K}.${string}`, attrs?: Attrs | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const [tag, ...classes] = tagAndClasses.split('.') as [K, ...string[]]
  const el = document.createElement(tag)
  if (classes.length) el.className = classes.join(' ')
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === false) continue
    if (typeof value === 'function') el.addEventListener(name.replace(/^on/, ''), value)
    else if (value === true) el.setAttribute(name, '')
    else el.setAttribute(name, String(value))
  }
  append(el, ...children)
  return el
}

export function append(el: Element, ...children: Child[]): void {
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c)
}

/** Replaces an element's children. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren()
  append(el, ...children)
}
