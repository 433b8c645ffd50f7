// The headers on everything `loom serve` answers: the page may load only its
// own files, talk only to its own engine socket, and not be framed; nothing
// is sniffed into another type.

/** `connect`: more sources the page may connect to (a shared session's sync server elsewhere). */
export function contentSecurityPolicy(port: number, connect: string[] = []): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    // Monaco starts its workers from blob: URLs.
    "worker-src 'self' blob:",
    // Monaco sets inline styles as it lays out the editor.
    "style-src 'self' 'unsafe-inline'",
    `connect-src 'self' ws://127.0.0.1:${port}${connect.map((c) => ` ${c}`).join('')}`,
    "img-src 'self' data:",
    "font-src 'self' data:",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'none'",
  ].join('; ')
}

export function securityHeaders(port: number, connect: string[] = []): Record<string, string> {
  return {
    'content-security-policy': contentSecurityPolicy(port, connect),
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'cache-control': 'no-cache',
  }
}
