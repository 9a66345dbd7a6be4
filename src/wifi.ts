// Joins the WiFi network and rejoins it when the link drops. Boards whose Espruino has no Wifi module
// (Espruino's Linux build, or a board with a wired or built-in network) use their network as it is.
import { retry } from './retry'

// Modem sleep keeps the link but wakes the radio only for the access point's DTIM beacons: presses
// leave at once, messages to the device wait for the next beacon. See docs/power.md.
function applyPowersave (wifi: WifiModule, powersave: 'none' | 'ps-poll', log: (line: string) => void) {
  try {
    // With Bluetooth on (Espruino's ESP32 default) ESP-IDF needs modem sleep: turning it off is
    // refused or aborts, which would reboot the board at every start.
    if (powersave === 'none' && typeof ESP32 !== 'undefined' && ESP32.getState!().BLE) throw new Error('Bluetooth is on')
    wifi.setConfig!({ powersave })
  } catch (e) {
    // No setConfig (only ESP32 and ESP8266 have it), or a name the build does not know: Espruino on
    // ESP-IDF 4 (ESP32-C3, -S3) takes only "none", "min" and "max". The board keeps its own setting.
    log('wifi: power save "' + powersave + '" not applied (' + e + '); see docs/power.md')
  }
}

export function startWifi (ssid: string, password: string, powersave: 'none' | 'ps-poll', log: (line: string) => void, onUp: () => void, onDown: () => void): void {
  let wifi: WifiModule
  try {
    wifi = require('Wifi')
  } catch (e) {
    log('wifi: no Wifi module on this board (' + e + '); using its network as it is')
    onUp()
    return
  }
  applyPowersave(wifi, powersave, log)
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
