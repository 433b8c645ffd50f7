// The frames of the current stack as V8's structured call sites, without
// formatting a stack string. Formatting is what costs: with source maps on
// (tsx turns them on) one `.stack` took ~10 µs, and every sys.abort wants the
// cell line it was called from.
const structured = (_: Error, sites: NodeJS.CallSite[]) => sites

export function callSites(limit = 20): NodeJS.CallSite[] {
  const prepare = Error.prepareStackTrace
  const depth = Error.stackTraceLimit
  Error.prepareStackTrace = structured
  Error.stackTraceLimit = limit
  try {
    const holder: { stack?: NodeJS.CallSite[] } = {}
    Error.captureStackTrace(holder, callSites)
    return holder.stack ?? []
  } finally {
    Error.prepareStackTrace = prepare
    Error.stackTraceLimit = depth
  }
}
