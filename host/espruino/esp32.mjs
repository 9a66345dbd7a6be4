// The ESP32 object of Espruino's ESP32 build (targets/esp32/jswrap_esp32.c, RELEASE_2V29), the part
// the firmware uses: setAtten(pin, atten) sets the attenuation of the pin's ADC1 channel from a
// range in mV (1000, 1340, 2000, 3600; any other value means 3600, i.e. 11 dB). Calls are recorded.
// getState() says whether Bluetooth and WiFi are enabled (on by default; ESP32.enableBLE(false) turns
// Bluetooth off) and which ESP-IDF the build uses.
const GPIO_MAX = 39

export function createEsp32 ({ realm, attenuation, ble }) {
  return realm.object({
    getState () {
      return realm.data({ sdkVersion: 'v3.3.6', freeHeap: 100000, BLE: ble, Wifi: true, minHeap: 90000 })
    },
    setAtten (pin, atten) {
      const name = String(pin)
      const m = /^D(\d+)$/.exec(name)
      if (!m || Number(m[1]) > GPIO_MAX) throw realm.error('Error', 'Invalid pin')
      attenuation.set(name, Math.trunc(Number(atten)))
    }
  })
}
