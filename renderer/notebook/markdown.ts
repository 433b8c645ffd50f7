// Prose to HTML. Cell text is untrusted once a session is shared, so raw HTML
// in the markdown is shown as text, links keep to safe schemes, and what marked
// produces is then walked against an allowlist before it reaches the page.
import { Marked } from 'marked'

const md = new Marked({
  gfm: true,
  async: false,
  renderer: {
    html({ text }) {
      return escapeHtml(text)
    },
    link({ href, title, tokens }) {
      const inner = this.parser.parseInline(tokens)
      if (!safeHref(href)) return inner
      return `<a href="${escapeHtml(href)}"${title ? ` title="${escapeHtml(title)}"` : ''} target="_blank" rel="noopener noreferrer">${inner}</a>`
    },
    image({ href, text }) {
      // The page's CSP allows only its own images and data: URLs; anything else would only show as broken.
      if (!/^data:image\/(png|gif|jpeg|webp);/i.test(href)) return `<span class="md-image-alt">[${escapeHtml(text)}]</span>`
      return `<img src="${escapeHtml(href)}" alt="${escapeHtml(text)}">`
    },
  },
})

const ALLOWED = new Set(['A', 'P', 'BR', 'HR', 'EM', 'STRONG', 'DEL', 'CODE', 'PRE', 'BLOCKQUOTE', 'UL', 'OL', 'LI', 'H1', 'H2', 'H3', 'H4', 'H5', 'H6', 'TABLE', 'THEAD', 'TBODY', 'TR', 'TH', 'TD', 'IMG', 'SPAN', 'INPUT'])
const ATTRIBUTES = new Set(['href', 'title', 'target', 'rel', 'src', 'alt', 'class', 'align', 'start', 'type', 'checked', 'disabled'])

/** Renders markdown into `target`, safely. */
export function renderMarkdown(target: HTMLElement, text: string): void {
  const html = md.parse(text) as string
  const doc = new DOMParser().parseFromString(`<body>${html}</body>`, 'text/html')
  clean(doc.body)
  target.replaceChildren(...Array.from(doc.body.childNodes).map((n) => document.importNode(n, true)))
}

function clean(el: Element): void {
  for (const child of Array.from(el.children)) {
    if (!ALLOWED.has(child.tagName) || (child.tagName === 'INPUT' && child.getAttribute('type') !== 'checkbox')) {
      child.replaceWith(document.createTextNode(child.textContent ?? ''))
      continue
    }
    for (const attr of Array.from(child.attributes)) {
      if (!ATTRIBUTES.has(attr.name)) child.removeAttribute(attr.name)
    }
    if (child.hasAttribute('href') && !safeHref(child.getAttribute('href')!)) child.removeAttribute('href')
    if (child.hasAttribute('src') && !/^data:image\//i.test(child.getAttribute('src')!)) child.removeAttribute('src')
    clean(child)
  }
}

function safeHref(href: string): boolean {
  return /^(https?:|mailto:|#)/i.test(href) || !/^[a-z][a-z0-9+.-]*:/i.test(href.trim())
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}
