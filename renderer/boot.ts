// The page's first script (index.html loads it before main.js): it connects
// to the engine and says hello while the rest of the UI's code, Monaco most
// of all, is still being fetched, parsed and evaluated.
import { dialEarly } from './connection.ts'

dialEarly()
