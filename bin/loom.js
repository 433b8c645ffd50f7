#!/usr/bin/env node
// The `loom` command: registers TypeScript loading (tsx) and hands over to the CLI.
import { register } from 'tsx/esm/api'

register()
const { main } = await import('../engine/cli/main.ts')
process.exitCode = await main(process.argv.slice(2))
