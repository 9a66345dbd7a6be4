// Runs npm run flash's script against a stand-in board, for the flash tests.
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const CLI = fileURLToPath(new URL('../../tools/flash/cli.mjs', import.meta.url))
export const BUNDLE = fileURLToPath(new URL('../fixtures/flash/bundle.js', import.meta.url))

/** Runs the flash CLI; bounded so a hang fails the test instead of stalling it. */
export function flash (args, { env = process.env, cwd } = {}) {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 60_000, env, cwd }, (error, stdout, stderr) => {
      resolve({ code: error ? error.code : 0, stdout, stderr })
    })
  })
}

/** Starts a stand-in board with `start(options)`, runs fn with it, and always closes it. */
export async function withStandIn (start, options, fn) {
  const board = await start(options)
  try {
    return await fn(board)
  } finally {
    await board.close()
  }
}
