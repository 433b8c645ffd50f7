// Command-line arguments for `loom`, checked strictly: a typo is an error, not a silent default.

export class UsageError extends Error {}

/** 'pair': two words, as in --rename OLD NEW. */
type Kind = 'flag' | 'count' | 'text' | 'env' | 'pair'

/** Each command: its positional arguments and the options it takes. */
const COMMANDS = {
  run: { positional: ['notebook'], options: { db: 'text', branch: 'text', fresh: 'flag', steps: 'count', 'until-idle': 'flag', 'keep-going': 'flag', 'time-limit': 'count', env: 'env', port: 'count', 'sys-prefix': 'text', watch: 'flag', 'no-fsync': 'flag', json: 'flag' } },
  test: { positional: ['notebook'], options: { steps: 'count', 'time-limit': 'count', env: 'env', json: 'flag' } },
  log: { positional: ['db'], options: { branch: 'text', from: 'count', limit: 'count', failures: 'flag', json: 'flag' } },
  state: { positional: ['db'], options: { branch: 'text', at: 'count', json: 'flag' } },
  query: { positional: ['db', 'expr'], options: { branch: 'text', from: 'count', to: 'count', first: 'flag', limit: 'count', 'time-limit': 'count', help: 'flag', json: 'flag' } },
  diff: { positional: ['db', 'from', 'to'], options: { json: 'flag' } },
  profile: { positional: ['db'], options: { branch: 'text', sort: 'text', top: 'count', json: 'flag' } },
  replay: { positional: ['db'], options: { branch: 'text', from: 'count', to: 'count', verify: 'flag', code: 'text', onto: 'text', logs: 'flag', limit: 'count', 'time-limit': 'count', json: 'flag' } },
  fork: { positional: ['db'], options: { at: 'count', from: 'text', name: 'text', json: 'flag' } },
  promote: { positional: ['db', 'name'], options: { json: 'flag' } },
  branches: { positional: ['db'], options: { delete: 'text', rename: 'pair', restore: 'text', json: 'flag' } },
  branch: { positional: ['db'], options: { delete: 'text', rename: 'pair', restore: 'text', json: 'flag' } },
  export: { positional: ['db'], options: { branch: 'text', out: 'text' } },
  import: { positional: ['db', 'file'], options: { name: 'text', json: 'flag' } },
  explore: { positional: ['notebook'], options: { from: 'text', branch: 'text', at: 'count', depth: 'count', 'max-states': 'count', requests: 'count', faults: 'text', 'save-branch': 'text', violation: 'text', db: 'text', tree: 'flag', workers: 'count', 'time-limit': 'count', 'no-deadlock': 'flag', env: 'env', simulate: 'flag', seed: 'count', walks: 'count', coverage: 'flag', graph: 'text', json: 'flag' } },
  check: { positional: ['notebook'], options: { json: 'flag' } },
  allow: { positional: ['notebook'], options: {} },
  serve: { positional: ['notebook'], options: { db: 'text', branch: 'text', port: 'count', 'app-port': 'count', 'time-limit': 'count', env: 'env', share: 'flag', sync: 'text', 'share-port': 'count' } },
} satisfies Record<string, { positional: string[]; options: Record<string, Kind> }>

export type Command = keyof typeof COMMANDS | 'help'

export interface Parsed {
  command: Command
  /** Positional arguments by name (notebook, db, name, file). */
  args: Record<string, string>
  options: Record<string, string | number | boolean | [string, string]>
  env: Record<string, string>
  /** What follows `--`: the app's own arguments (sys.env.args). */
  rest: string[]
}

/** The longest --time-limit: what a timer can hold, less the grace the sandbox adds to it. */
const MAX_TIME_LIMIT_MS = 2 ** 31 - 1 - 1000

export function parseArgs(argv: string[]): Parsed {
  const [command, ...words] = argv
  const p: Parsed = { command: 'help', args: {}, options: {}, env: {}, rest: [] }
  if (!command || command === 'help' || command === '--help' || command === '-h') return p
  if (!(command in COMMANDS)) throw new UsageError(`unknown command '${command}'`)
  const spec = COMMANDS[command as keyof typeof COMMANDS]
  p.command = command as Command
  const positional: string[] = []
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!
    if (word === '--') {
      if (command !== 'run') throw new UsageError(`'loom ${command}' takes no app arguments after --`)
      p.rest = words.slice(i + 1)
      break
    }
    if (!word.startsWith('--')) {
      positional.push(word)
      continue
    }
    const name = word.slice(2)
    const kind = (spec.options as Record<string, Kind>)[name]
    if (!kind) throw new UsageError(`unknown option '${word}' for 'loom ${command}'`)
    if (kind === 'flag') {
      p.options[name] = true
      continue
    }
    const value = words[++i]
    if (value === undefined) throw new UsageError(`${word} needs a value`)
    if (kind === 'count') {
      if (!/^\d+$/.test(value)) throw new UsageError(`${word} takes a whole number ≥ 0, got '${value}'`)
      p.options[name] = Number(value)
    } else if (kind === 'pair') {
      const second = words[++i]
      if (second === undefined || second.startsWith('--')) throw new UsageError(`${word} needs two values, as in ${word} OLD NEW`)
      p.options[name] = [value, second]
    } else if (kind === 'env') {
      const eq = value.indexOf('=')
      if (eq <= 0) throw new UsageError(`${word} takes KEY=VALUE, got '${value}'`)
      p.env[value.slice(0, eq)] = value.slice(eq + 1)
    } else p.options[name] = value
  }
  const names = spec.positional
  if (p.options.help) return p // a command's own help needs nothing else
  if (positional.length < names.length) {
    const missing = names[positional.length]!
    throw new UsageError(`'loom ${command}' needs ${missing === 'notebook' ? 'a notebook (a .loom.md file)' : missing === 'db' ? 'a log (a .loom.db file)' : `a ${missing}`}`)
  }
  if (positional.length > names.length) throw new UsageError(`'loom ${command}' takes ${names.join(' and ')}; got also '${positional[names.length]}'`)
  names.forEach((n, i) => (p.args[n] = positional[i]!))
  for (const name of ['port', 'app-port', 'share-port']) {
    const port = p.options[name] as number | undefined
    if (port !== undefined && port > 65535) throw new UsageError(`--${name} takes a port number from 0 to 65535 (0: any free port), got ${port}`)
  }
  // A timer holds at most 2^31 - 1 ms (Node's vm and setTimeout): a longer limit would be cut to 1 ms or throw mid-run.
  const limit = p.options['time-limit'] as number | undefined
  if (limit !== undefined && !(limit >= 1 && limit <= MAX_TIME_LIMIT_MS)) throw new UsageError(`--time-limit takes a whole number of ms from 1 to ${MAX_TIME_LIMIT_MS} (about 24 days), got ${limit}`)
  return p
}
