// Command-line arguments for `loom`, checked strictly: a typo is an error, not a silent default.

export class UsageError extends Error {}

export interface Parsed {
  command: 'run' | 'test' | 'help'
  notebook: string
  steps?: number
  untilIdle: boolean
  json: boolean
  timeLimit?: number
  env: Record<string, string>
  args: string[]
}

const COMMANDS = ['run', 'test']

export function parseArgs(argv: string[]): Parsed {
  const [command, ...rest] = argv
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    return { command: 'help', notebook: '', untilIdle: false, json: false, env: {}, args: [] }
  }
  if (!COMMANDS.includes(command)) throw new UsageError(`unknown command '${command}'`)
  const p: Parsed = { command: command as Parsed['command'], notebook: '', untilIdle: false, json: false, env: {}, args: [] }
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!
    const value = (): string => {
      const v = rest[++i]
      if (v === undefined) throw new UsageError(`${arg} needs a value`)
      return v
    }
    const count = (name: string, min: number): number => {
      const v = value()
      const n = Number(v)
      if (!/^\d+$/.test(v) || n < min) throw new UsageError(`${name} takes a whole number ≥ ${min}, got '${v}'`)
      return n
    }
    switch (arg) {
      case '--':
        p.args = rest.slice(i + 1)
        i = rest.length
        break
      case '--steps':
        p.steps = count('--steps', 0)
        break
      case '--until-idle':
        if (command !== 'run') throw new UsageError(`--until-idle is an option of 'loom run'`)
        p.untilIdle = true
        break
      case '--json':
        p.json = true
        break
      case '--time-limit':
        p.timeLimit = count('--time-limit', 1)
        break
      case '--env': {
        const v = value()
        const eq = v.indexOf('=')
        if (eq <= 0) throw new UsageError(`--env takes KEY=VALUE, got '${v}'`)
        p.env[v.slice(0, eq)] = v.slice(eq + 1)
        break
      }
      default:
        if (arg.startsWith('-')) throw new UsageError(`unknown option '${arg}' for 'loom ${command}'`)
        if (p.notebook) throw new UsageError(`one notebook at a time (got '${p.notebook}' and '${arg}')`)
        p.notebook = arg
    }
  }
  if (!p.notebook) throw new UsageError(`'loom ${command}' needs a notebook (a .loom.md file)`)
  return p
}
