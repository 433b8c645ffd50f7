// Small helpers for the UI's sentences: a count with its noun ("1 event",
// "2 events") and a word with its article ("a view", "an edit").

/** `n` and the noun, singular for exactly 1: plural('event', 1) is '1 event', plural('event', 1500) is '1,500 events'. */
export function plural(noun: string, n: number, many = `${noun}s`): string {
  return `${n.toLocaleString()} ${n === 1 ? noun : many}`
}

/** The word with 'a' or 'an' before it, as it is said: 'a run link', 'an edit link'. */
export function article(word: string): string {
  return `${/^[aeiou]/i.test(word) ? 'an' : 'a'} ${word}`
}
