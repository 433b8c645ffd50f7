// Imported first by main.ts, so that this runs before the rest of the UI's
// code is evaluated: the engine says hello while Monaco gets ready.
import { dialEarly } from './connection.ts'

dialEarly()
