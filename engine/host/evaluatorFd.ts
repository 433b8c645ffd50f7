/** The engine process's end of its evaluator pipe (forkEngine.ts relays it to evaluatorSpawn.ts). */
export const EVALUATOR_FD = 5
