// npm run flash for "runtime": "kaluma": uploads through @kaluma/cli 1.0.0 (bin/kaluma.js write), which
// puts the board's console into `.flash -w`, sends the file by YMODEM (a CRC-16 on every 1 KB block) into
// the program area Kaluma runs at every power-up (src/runtime.c km_runtime_load), then sends `.load`.
import { createRequire } from 'node:module'
import { readFile } from 'node:fs/promises'
import { FlashError } from './errors.mjs'
import { failIfNoConnection, interruptedMessage, runNodeCli } from './upload.mjs'

const KALUMA_CLI = createRequire(import.meta.url).resolve('@kaluma/cli/bin/kaluma.js')

/** Seconds an upload may take: YMODEM at 115200 baud moves about 10 KB/s, plus the CLI's own 2.5 s of pauses. */
export const kalumaUploadSeconds = bytes => Math.ceil(3 + bytes / 10240)

/** Writes the bundle to the board's program area and loads it; FlashError with what to do otherwise. */
export async function uploadKaluma (port, bundlePath, { timeoutSeconds = 30 } = {}) {
  if (/^[a-z]+:\/\//i.test(port)) {
    throw new FlashError(`--port ${port}: a Kaluma board is flashed over its USB serial port only, e.g. /dev/ttyACM0`)
  }
  // The CLI reads the file as UTF-8 and sends those bytes.
  const bytes = Buffer.byteLength(await readFile(bundlePath, 'utf8'))
  const run = await runNodeCli(KALUMA_CLI, ['write', bundlePath, '--port', port], { timeoutMs: timeoutSeconds * 1000 })
  if (run.timedOut && /^Writing /.test(run.out) && !/Error/.test(run.out)) {
    throw new FlashError(`No answer from ${port} within ${timeoutSeconds} s: is Kaluma 1.2.1 installed on the board (docs/flashing.md)? If its program feeds a watchdog, hold GP22 to GND while plugging it in, then re-run`)
  }
  failIfNoConnection(run, port, timeoutSeconds)
  // @kaluma/cli prints open errors and exits 0; only its "Done." line with every byte counts.
  const done = /Done\. \(.* : ([0-9]+) bytes\)/.exec(run.out)
  if (!done || Number(done[1]) !== bytes) throw new FlashError(interruptedMessage(port))
  return run.out
}
