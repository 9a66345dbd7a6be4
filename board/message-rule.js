// The one rule for the `message` template, shared by the firmware build (tools/build/config.mjs) and the
// staff board, which finds the table number in each payload with it. No dependencies: it runs in Node and
// in the browser alike.

/**
 * What is wrong with a message template, with the fix, or null when the device and the board can use it.
 * @param {unknown} template
 * @returns {string | null}
 */
export function messageProblem (template) {
  if (typeof template !== 'string') return 'is not a text (fix: set it to a text with {n} where the table number goes, e.g. "button {n} is pressed")'
  const count = template.split('{n}').length - 1
  if (count === 0) return 'has no {n}, so the staff cannot tell which table calls (fix: put {n} where the table number goes, e.g. "button {n} is pressed")'
  if (count > 1) return `has {n} ${count} times; the table number must appear exactly once (fix: keep one {n})`
  // The board trims each payload before matching it: a template with white space at either end would
  // never match, and every call would be lost on the staff screen.
  if (template !== template.trim()) return 'starts or ends with white space, which the staff board trims off every payload, so no call would match (fix: remove the spaces or line breaks at the start and end)'
  return null
}
