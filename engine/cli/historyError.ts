/** A request the log cannot satisfy (no such branch, event, …): exit 2 with the reason. */
export class HistoryError extends Error {}
