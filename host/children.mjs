// A process spawned by a test (or a test helper) must not outlive it, whichever way it ends: `own`ed
// children are killed when this process exits, also when a signal ends it (node --test sends SIGTERM
// to a test file's process that ran out of time, and Node runs no 'exit' handlers on a bare signal).
const owned = new Set()
const SIGNALS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 }
let installed = false

function install () {
  installed = true
  process.on('exit', () => {
    for (const child of owned) child.kill('SIGKILL')
  })
  for (const [signal, number] of Object.entries(SIGNALS)) process.once(signal, () => process.exit(128 + number))
}

/** Registers a ChildProcess to be killed with this process; returns it. */
export function own (child) {
  if (!installed) install()
  owned.add(child)
  child.once('exit', () => owned.delete(child))
  return child
}
