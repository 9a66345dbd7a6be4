// A promise rejected with nobody handling it: Espruino throws
// "Unhandled promise rejection: <reason>" (src/jswrap_promise.c), reported as
// Uncaught. Node reports every realm's promises to one process event, so one
// listener routes device promises to their device and leaves the rest to
// Node's default (crash).
const active = new Map() // realm -> report(err)

function onUnhandled (reason, promise) {
  for (const [realm, report] of active) {
    if (promise instanceof realm.global.Promise) {
      report(realm.error('Error', `Unhandled promise rejection: ${String(reason)}`))
      return
    }
  }
  throw reason
}

export function trackRejections (realm, report) {
  if (active.size === 0) process.on('unhandledRejection', onUnhandled)
  active.set(realm, report)
  return () => {
    active.delete(realm)
    if (active.size === 0) process.off('unhandledRejection', onUnhandled)
  }
}
