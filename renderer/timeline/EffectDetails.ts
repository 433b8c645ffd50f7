// An effect event in the event details: what was asked (method, URL,
// headers), what came back (status, headers, body), how long it took, the
// transaction that asked for it and used it, and "Refresh" so that the next
// read of the same request asks the world again (effectRefresh.ts). Every
// credential is blanked before anything is drawn (protocol/redactCredentials.ts),
// and a body is text in the page, never markup.
import type { EngineClient } from '../../engine/protocol/client.ts'
import type { EventRecord, Json } from '../../engine/protocol/messages.ts'
import { asText, EFFECTS_STATE, effectLine, effectParts, sizeText, utf8Length } from '../../engine/protocol/effectLine.ts'
import { latencyText } from '../../engine/protocol/latencyText.ts'
import { refreshEdit } from '../../engine/protocol/effectRefresh.ts'
import { redactCredentials } from '../../engine/protocol/redactCredentials.ts'
import { append, h } from '../dom.ts'

/** How much of a body is shown: the rest is counted, not drawn. */
export const BODY_SHOWN = 4000
/** How far along the branch the transaction that used a read (or the read an event used) is looked for. */
const REACH = 500

export interface EffectLinks {
  /** Selects event `seq` of `branch` on the timeline. */
  select(branch: string, seq: number): void
}

/** The sections of an effect event's details (its input is the log's, untrusted: every field is checked). */
export function effectSections(e: EventRecord, client: EngineClient, links: EffectLinks): HTMLElement[] {
  // A read (`{ request, response }`) or an action's outcome (`{ asked, outcome }`), credentials blanked.
  const i = effectParts(redactCredentials(e.input))
  const req = (i.request ?? {}) as Record<string, Json>
  const res = (isObject((i.answer ?? null) as Json) ? i.answer : {}) as Record<string, Json>
  const rows: HTMLElement[] = [h('div.ed-effect', null, effectLine(redactCredentials(e.input)))]

  // First what a person acts on: the transaction it is linked to, and Refresh.
  const used = h('span.ed-effect-used', null, h('span.empty', null, 'looking…'))
  if (i.key) void usedBy(client, e, i.key).then((u) => used.replaceChildren(u
    ? link(`event ${u.seq} · ${u.method ? `${u.method}()` : u.kind}`, () => links.select(e.branch, u.seq))
    : h('span.empty', null, `no transaction in the next ${REACH} events read it`)))
  else used.replaceChildren(h('span.empty', null, 'no request recorded'))
  const actions = h('div.ed-effect-actions', null, h('span.ed-effect-label', null, 'asked for and used by'), used)
  rows.push(actions)
  const edit = refreshEdit(e.input)
  if (edit) {
    const said = h('div.ed-refresh-said')
    const button = h('button.ed-refresh', {
      type: 'button',
      title: 'Read it again from the world the next time it is asked for: the next read of this request on the live branch asks again (an edit of sys.effects, on the timeline)',
      onclick: async () => {
        button.disabled = true
        try {
          const { event } = await client.call('editState', { edits: [edit] })
          said.textContent = `Refreshed at event ${event.seq}: the next read of ${i.asked} asks again.`
        } catch (err) {
          said.textContent = `Could not refresh: ${(err as Error).message}`
        } finally {
          button.disabled = false
        }
      },
    }, h('span.codicon.codicon-refresh'), ' Refresh')
    actions.append(button)
    rows.push(said)
  }

  const request = section('Request', h('div.ed-request-line', null, i.asked))
  if (req.kind === 'fs.read' || req.kind === 'fs.write') request.append(fact('root', `${asText(req.root)} (${asText(req.rootPath)})`))
  request.append(...headerRows(req.headers))
  rows.push(request)

  const response = section('Response')
  if (typeof res.error === 'string') response.append(h('div.ed-error.ed-effect-error', null, h('span', null, `failed: ${res.error}`)))
  else if (typeof res.status === 'number') append(response, h('div.ed-request-line', null, String(res.status)), ...headerRows(res.headers), body(res.body))
  else if (typeof res.text === 'string') append(response, body(res.text))
  else if (res.ok === true) response.append(h('div.ed-request-line', null, 'done'))
  else response.append(h('div.empty', null, 'no answer recorded'))
  rows.push(response)

  const timing = h('dl.ed-facts.ed-effect-timing', null,
    h('dt', null, 'took'), h('dd', null, i.ms !== null ? latencyText(i.ms) : 'not recorded'),
    h('dt', null, 'recorded'), h('dd', null, new Date(e.time).toISOString().replace('T', ' ').replace('Z', ' UTC')),
    ...(i.attempts > 1 ? [h('dt', null, 'attempts'), h('dd.ed-attempts', null, String(i.attempts))] : []),
    h('dt', null, 'kept as'), h('dd', { title: i.key ?? '' }, i.key ? i.key.slice(0, 12) : '?'))
  rows.push(section('Timing', timing))
  return rows
}

/** For an event that read recorded responses: the effect events it used, each a link (found among the REACH events before it). */
export function usedEffects(e: EventRecord, client: EngineClient, links: EffectLinks): HTMLElement | null {
  const keys = [...new Set(e.reads.filter((r) => r.state === EFFECTS_STATE && typeof r.key === 'string').map((r) => r.key!))]
  if (!keys.length || e.kind === 'effect') return null
  const list = h('div.ed-effects-used', null, h('span.empty', null, 'looking…'))
  void client.call('log', { branch: e.branch, from: Math.max(1, e.seq - REACH), limit: Math.min(REACH, e.seq - 1) || 1 }).then((page) => {
    const found = keys.map((k) => page.events.filter((x) => x.seq < e.seq && x.kind === 'effect' && effectParts(x.input).key === k).at(-1))
    list.replaceChildren(...found.map((x, n) => x
      ? h('div', null, link(`event ${x.seq}`, () => links.select(e.branch, x.seq)), h('span.ed-effect-line', null, ` ${effectLine(redactCredentials(x.input))}`))
      : h('div.empty', null, `a read recorded before event ${Math.max(1, e.seq - REACH)} (${keys[n]!.slice(0, 12)})`)))
  }, (err: Error) => list.replaceChildren(h('span.empty', null, `could not read the events before: ${err.message}`)))
  return section('Effects used', list)
}

/** The first transaction after effect event `e` that read its response: the one that asked for it. */
async function usedBy(client: EngineClient, e: EventRecord, hash: string): Promise<EventRecord | null> {
  const page = await client.call('log', { branch: e.branch, from: e.seq + 1, limit: REACH }).catch(() => null)
  return page?.events.find((x) => x.kind !== 'effect' && x.reads.some((r) => r.state === EFFECTS_STATE && r.key === hash)) ?? null
}

/** Headers as name: value rows, credentials already blanked. */
function headerRows(v: Json | undefined): HTMLElement[] {
  if (!isObject(v ?? null)) return []
  return Object.entries(v as Record<string, Json>).slice(0, 200).map(([k, x]) => h('div.ed-header', null, h('span.ed-header-name', null, `${k}:`), ` ${asText(x)}`))
}

/**
 * A body as text, never markup: at most BODY_SHOWN characters with its size; one that is
 * not text (the runner decoded bytes that are not UTF-8: NULs, replacement characters) as its size.
 */
export function body(v: Json | undefined): HTMLElement | null {
  if (typeof v !== 'string') return v === undefined || v === null ? null : h('pre.ed-payload', null, JSON.stringify(v).slice(0, BODY_SHOWN))
  const size = sizeText(utf8Length(v))
  if (!v.length) return h('div.empty.ed-body-size', null, 'empty body')
  if (binary(v)) return h('div.ed-body-size', null, `binary, ${size} (not shown)`)
  return h('div', null,
    h('pre.ed-payload', null, v.length > BODY_SHOWN ? `${v.slice(0, BODY_SHOWN)}…` : v),
    h('div.ed-body-size', null, v.length > BODY_SHOWN ? `${size}, the first ${BODY_SHOWN.toLocaleString()} characters shown` : size))
}

function binary(text: string): boolean {
  const head = text.slice(0, 2000)
  let odd = 0
  for (let k = 0; k < head.length; k++) {
    const c = head.charCodeAt(k)
    if (c === 0) return true
    if (c === 0xfffd || (c < 32 && c !== 9 && c !== 10 && c !== 13)) odd++
  }
  return odd > head.length / 20
}

function link(text: string, onclick: () => void): HTMLElement {
  return h('button.ed-chip.ed-effect-link', { type: 'button', onclick }, text)
}

function fact(name: string, value: string): HTMLElement {
  return h('div.ed-header', null, h('span.ed-header-name', null, `${name}:`), ` ${value}`)
}

function section(title: string, ...children: (Node | null)[]): HTMLElement {
  const s = h('div.ed-section', null, h('div.ed-section-title', null, title))
  for (const c of children) if (c) s.append(c)
  return s
}

function isObject(v: Json): boolean {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}
