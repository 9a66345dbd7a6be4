// require('Wifi') modelled on Espruino's ESP32 implementation
// (libs/network/esp32/jswrap_esp32_network.c, RELEASE_2V29):
// - events 'associated' {ssid, mac, channel:"6"}, 'connected' {ip, netmask, gw},
//   'disconnected' {ssid, mac, reason:"201", msg:"NO_AP_FOUND"} (reason is the
//   ESP-IDF code as a string, msg from wifiReasonToString)
// - connect() sets a retry counter of 3 and every disconnect event does
//   `if (--retries > 0) reconnect silently`, only then reports 'disconnected'
// - connect's callback gets null once an IP is obtained; on failure 2v29 never
//   calls it, later firmware (commit 8e3811704) calls it with msg — choose with
//   `callbackOnFailure` (default true, as the project brief asks)
// - disconnect(cb) queues cb at once and again when the disconnect event comes.
// - setConfig({powersave}) on the ESP32 board only (jswrap_wifi_setConfig; the ESP32 build uses
//   ESP-IDF 3.3): "none", "ps-poll" and "min" (the same WIFI_PS_MIN_MODEM there), "max", anything
//   else throws "Unknown powersave mode". getStatus().powersave names the mode: "none", "modem"
//   (min), "unknown" (max). Espruino never sets it otherwise, so a boot starts in ESP-IDF's default,
//   minimum modem sleep.
// - setSNTP(server, tz_offset) (jswrap_esp32_network.c: sntp_setservername + sntp_init): the clock is
//   set from the network's time SNTP_MS after the station has an IP, and again after each rejoin.

const REASONS = {
  8: 'ASSOC_LEAVE', // we called disconnect()
  15: '4WAY_HANDSHAKE_TIMEOUT', // what ESP-IDF reports for a wrong WPA2 password
  200: 'BEACON_TIMEOUT', // AP out of reach
  201: 'NO_AP_FOUND'
}
const UNKNOWN_REASON = 'Unknown reason' // wifiReasonToString(0): never disconnected yet
const NO_MAC = '00:00:00:00:00:00'
const DHCP_MS = 50
const SNTP_MS = 100
// The access point's name and password are UTF-8 on the air; device strings are one char per byte.
const airBytes = text => Buffer.from(text, 'utf8').toString('latin1')
const deviceBytes = text => Buffer.from(text, 'latin1').toString('latin1')

/** The radio environment of one device (survives reboots); also the test controller. */
export function createWifiEnvironment ({ ap, scheduler, callbackOnFailure = true, sntp = true }) {
  const env = {
    ap: ap ? { ssid: ap.ssid, password: ap.password } : null,
    bssid: '4c:ed:fb:a1:b2:c3',
    associationDelayMs: 300,
    outageUntil: -Infinity,
    callbackOnFailure,
    sntp, // false: a Wifi module without setSNTP (boards other than the ESP32)
    station: null, // the running boot's Wifi module, set by createWifiModule
    dropTimer: undefined,
    // What an SNTP server answers: the real time, unless a test sets another.
    networkTime: () => Date.now()
  }
  env.controller = {
    /** {ssid, password} or null (AP switched off: a connected station loses its link). */
    setAccessPoint (next) {
      env.ap = next ? { ssid: next.ssid, password: next.password } : null
      if (!next) env.station?.linkLost()
    },
    /** The link drops now (beacon timeout); the AP stays unreachable for outageMs. */
    dropLink ({ outageMs = 5000 } = {}) {
      env.outageUntil = scheduler.now() + outageMs
      env.station?.linkLost()
    },
    /** Drop the link `seconds` after now. */
    dropAfter (seconds, options) {
      if (env.dropTimer) scheduler.cancel(env.dropTimer)
      env.dropTimer = scheduler.after(seconds * 1000, () => env.controller.dropLink(options))
    },
    setAssociationDelay (ms) {
      env.associationDelayMs = ms
    },
    /** SNTP servers say it is `ms` (since the epoch) now; their clock runs with the device's. */
    setNetworkTime (ms) {
      const at = scheduler.now()
      env.networkTime = () => ms + scheduler.now() - at
    },
    get accessPoint () {
      return env.ap && { ...env.ap }
    },
    get connected () {
      return !!env.station?.hasIp
    },
    get ssid () {
      return env.station?.ssid
    },
    get ip () {
      return env.station?.hasIp ? env.station.ip : undefined
    },
    /** What getStatus().powersave would say. */
    get powersave () {
      return env.station?.powersave
    }
  }
  return env
}

const POWERSAVE = { none: 'none', 'ps-poll': 'modem', min: 'modem', max: 'unknown' }
const PHY = ['11b', '11g', '11n']

/** setClock(ms): the device's clock (Date) reads `ms` now. esp32: the module has setConfig. */
export function createWifiModule ({ realm, loop, emitter, scheduler, env, serial, onLinkLost, setClock, esp32 = false }) {
  // Set once the API object exists; the emit closure only runs after that.
  let module // eslint-disable-line prefer-const
  let retries = 0
  let config = null // {ssid, password}
  let associated = false
  let hasIp = false
  let attemptTimer
  let gotIpCallback
  let disconnectCallback
  let lastReason = 0
  let hostname = 'espruino'
  let sntpSet = false // whether setSNTP was called
  let sntpTimer
  const syncClock = () => {
    if (sntpTimer) scheduler.cancel(sntpTimer)
    sntpTimer = scheduler.after(SNTP_MS, () => {
      sntpTimer = undefined
      if (hasIp) setClock(env.networkTime())
    })
  }
  const ip = { ip: '192.168.1.50', netmask: '255.255.255.0', gw: '192.168.1.1' }
  const mac = serial.slice(0, 12).replace(/(..)(?!$)/g, '$1:')

  const emit = (event, details) => emitter.emitQueued(module, event, [realm.data(details)])
  const call = (fn, ...args) => fn && loop.queue(() => fn(...args))

  function attempt () {
    if (attemptTimer) scheduler.cancel(attemptTimer)
    attemptTimer = scheduler.after(env.associationDelayMs, () => {
      attemptTimer = undefined
      const ap = env.ap
      if (!ap || airBytes(ap.ssid) !== deviceBytes(config.ssid) || scheduler.now() < env.outageUntil) return disconnected(201, NO_MAC)
      if (airBytes(ap.password) !== deviceBytes(config.password)) return disconnected(15, env.bssid)
      associated = true
      emit('associated', { ssid: config.ssid, mac: env.bssid, channel: '6' })
      attemptTimer = scheduler.after(DHCP_MS, () => {
        attemptTimer = undefined
        hasIp = true
        if (sntpSet) syncClock()
        call(gotIpCallback, null)
        gotIpCallback = undefined
        emit('connected', { ...ip })
      })
    })
  }

  // The SYSTEM_EVENT_STA_DISCONNECTED handler.
  function disconnected (reason, bssid) {
    const hadIp = hasIp
    associated = false
    hasIp = false
    if (hadIp) onLinkLost()
    if (--retries > 0) return attempt()
    lastReason = reason
    call(disconnectCallback)
    disconnectCallback = undefined
    emit('disconnected', { ssid: config.ssid, mac: bssid, reason: String(reason), msg: REASONS[reason] })
    if (gotIpCallback && env.callbackOnFailure) call(gotIpCallback, REASONS[reason])
    if (env.callbackOnFailure) gotIpCallback = undefined
  }

  const station = {
    powersave: esp32 ? 'modem' : 'none',
    get hasIp () { return hasIp },
    get ssid () { return config?.ssid },
    ip: ip.ip,
    linkLost () {
      if (associated || hasIp) disconnected(200, env.bssid)
    }
  }
  env.station = station

  const expectCallback = (cb) => {
    if (cb !== undefined && cb !== null && typeof cb !== 'function') {
      throw realm.error('Error', `Expecting callback function but got ${typeof cb}`)
    }
  }

  const api = {
    connect (ssid, options, callback) {
      if (typeof ssid !== 'string') throw realm.error('Error', 'No SSID provided')
      if (options !== undefined && (options === null || typeof options !== 'object')) {
        throw realm.error('Error', `Expecting options object but got ${typeof options}`)
      }
      expectCallback(callback)
      const password = options?.password ?? ''
      if (typeof password !== 'string') {
        throw realm.error('Error', `Expecting options.password to be a string but got ${typeof password}`)
      }
      disconnectCallback = undefined
      config = { ssid, password }
      retries = 3
      gotIpCallback = callback
      // Already connected: esp_wifi_disconnect(), and the retry reconnects.
      if (associated || hasIp) disconnected(8, env.bssid)
      else attempt()
    },
    disconnect (callback) {
      expectCallback(callback)
      disconnectCallback = callback
      retries = 0
      const busy = associated || hasIp || attemptTimer
      if (attemptTimer) scheduler.cancel(attemptTimer)
      attemptTimer = undefined
      if (busy) disconnected(8, env.bssid)
      call(callback)
    },
    getIP (callback) {
      expectCallback(callback)
      const info = realm.data(hasIp ? { ...ip, mac } : { ip: '0.0.0.0', netmask: '0.0.0.0', gw: '0.0.0.0', mac })
      if (callback) call(callback, null, info)
      return info
    },
    getDetails (callback) {
      expectCallback(callback)
      const details = realm.data(associated
        ? { ssid: config.ssid, password: config.password, status: 'connected', authMode: 'wpa2' }
        : { status: REASONS[lastReason] ?? UNKNOWN_REASON })
      if (callback) call(callback, details)
      return details
    },
    getStatus () {
      const status = associated
        ? { station: 'connected', ssid: config.ssid, bssid: env.bssid, channel: 6, rssi: -50, htMode: 'HT20', authMode: 'wpa2' }
        : { station: REASONS[lastReason] ?? UNKNOWN_REASON }
      return realm.data({ ...status, mode: associated ? 'STA' : 'NULL', powersave: station.powersave })
    },
    getHostname (callback) {
      if (callback) call(callback, hostname)
      return hostname
    },
    setHostname (name, callback) {
      hostname = String(name)
      call(callback)
    },
    setSNTP () {
      sntpSet = true
      if (hasIp) syncClock()
    }
  }

  if (esp32) {
    api.setConfig = (settings) => {
      if (settings === null || typeof settings !== 'object') throw realm.error('Error', `Expecting options object but got ${typeof settings}`)
      if (typeof settings.phy === 'string' && !PHY.includes(settings.phy)) throw realm.error('Error', 'Unknown phy mode')
      const ps = settings.powersave
      if (typeof ps !== 'string') return
      if (!Object.hasOwn(POWERSAVE, ps)) throw realm.error('Error', 'Unknown powersave mode')
      station.powersave = POWERSAVE[ps]
    }
  }
  if (!env.sntp) delete api.setSNTP
  module = realm.object(api)
  return {
    module,
    isOnline: () => hasIp,
    stop () {
      if (attemptTimer) scheduler.cancel(attemptTimer)
      if (sntpTimer) scheduler.cancel(sntpTimer)
      if (env.station === station) env.station = null
    }
  }
}
