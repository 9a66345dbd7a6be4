// WiFi, the same on every runtime: join the network at boot, rejoin with backoff (src/retry.ts) after a
// failed join or a lost link, and say so in the log. The adapter offers its runtime's join and link
// loss as they are (joinWifi, onLinkLost); power save and the clock are its boot code's.
import { log, joinWifi, onLinkLost } from './platform'
import { Retry, retryLater } from './retry'

/** Joins the WiFi network and rejoins it; `onUp` when joined, `onDown` when the link is lost. */
export function startWifi (onUp: () => void, onDown: (why: string) => void): void {
  // A board without WiFi of its own (Espruino's Linux build, a wired network) uses its network as it is.
  if (!joinWifi) return onUp()
  const ssid = __TABLECALL__.ssid
  let up = false
  const rejoin: Retry = {
    w: 'wifi: joining',
    a: () => joinWifi!(ssid, { password: __TABLECALL__.pass }, err => {
      if (err) {
        log('wifi: cannot join "' + ssid + '": ' + err)
        retryLater(rejoin)
      } else {
        up = true
        rejoin.n = 0
        log('wifi: joined "' + ssid + '"')
        onUp()
      }
    }),
    n: 0
  }
  // Also after a join that failed without calling back (Espruino 2v29 on ESP32): the rejoin is due
  // either way (retryLater keeps one pending at most).
  onLinkLost(why => {
    if (up) {
      up = false
      log('wifi: link lost' + why)
      onDown('WiFi is down')
    }
    retryLater(rejoin)
  })
  rejoin.a()
}
