// Plain data, as a type: what state holds and the protocol carries. Its own
// file so that code shared with the browser (engine/protocol) can name it
// without reaching values.ts, which checks values with Node's help.
export type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json }
