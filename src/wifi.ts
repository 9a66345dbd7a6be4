// Joins the WiFi network and rejoins it when the link drops. Boards whose Espruino has no Wifi module
// (Espruino's Linux build, or a board with a wired or built-in network) use their network as it is.
import { retry } from './retry'

export function startWifi (ssid: string, password: string, log: (line: string) => void, onUp: () => void, onDown: () => void): void {
  let wifi: WifiModule
  try {
    wifi = require('Wifi')
  } catch (e) {
    log('wifi: no Wifi module on this board (' + e + '); using its network as it is')
    onUp()
    return
  }
  // The clock, for the press time in table states (ESP32 Espruino has SNTP; others stay unset).
  if (wifi.setSNTP) wifi.setSNTP('pool.ntp.org', 0)
  else log('wifi: no SNTP, so no press times')
  let up = false
  const rejoin = retry('wifi: joining', log, () => join())
  const join = () => {
    wifi.connect(ssid, { password }, err => {
      if (err) {
        log('wifi: cannot join "' + ssid + '": ' + err)
        rejoin.later()
        return
      }
      up = true
      rejoin.reset()
      wifi.getIP((_err, info) => log('wifi: joined "' + ssid + '", ip ' + (info ? info.ip : '?')))
      onUp()
    })
  }
  wifi.on('disconnected', details => {
    if (up) {
      up = false
      log('wifi: link lost' + (details && details.reason !== undefined ? ' (' + details.reason + ')' : ''))
      onDown()
    }
    rejoin.later()
  })
  join()
}
