// The token this page was opened with (`?token=…`: the owner's link printed
// by `loom serve`, or an invite link). It is read once and taken out of the
// address bar, so screenshots, bookmarks and the history do not carry it;
// the tab keeps it (sessionStorage) so a reload still gets in.
const KEY = 'loom-token'

function readToken(): string | null {
  const url = new URL(location.href)
  const fromUrl = url.searchParams.get('token')
  if (fromUrl === null) return kept()
  keep(fromUrl)
  url.searchParams.delete('token')
  history.replaceState(history.state, '', url.pathname + url.search + url.hash)
  return fromUrl
}

/** Storage may be off (a browser setting): the page then works until it is reloaded. */
function kept(): string | null {
  try {
    return sessionStorage.getItem(KEY)
  } catch {
    return null
  }
}

function keep(value: string): void {
  try {
    sessionStorage.setItem(KEY, value)
  } catch {
    // see kept()
  }
}

let token: string | null | undefined

/** The page's token (null: opened without one, as the desktop app's window is). */
export function pageToken(): string | null {
  token ??= readToken()
  return token
}

/** The page's address with its token: where the page may send itself (another listener of the same session). */
export function addressWithToken(origin: string): string {
  const url = new URL(location.pathname + location.search + location.hash, origin)
  const t = pageToken()
  if (t !== null) url.searchParams.set('token', t)
  return url.href
}
