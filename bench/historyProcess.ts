// Entry of the process bundledHistory.ts starts: builds the history (durable.ts
// buildHistory) and prints what it measured as one line of JSON.
import { buildHistory } from './durable.ts'

const [sample, dir, steps] = process.argv.slice(2)
const { db, ...built } = await buildHistory(dir!, Number(steps), sample)
process.stdout.write(JSON.stringify({ db, ...built }) + '\n')
