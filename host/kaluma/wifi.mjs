// require('wifi') of Kaluma 1.2.1 on the Pico W (src/modules/wifi/wifi.js over global.__ieee80211dev,
// module_pico_cyw43.c pico_cyw43_wifi_*):
// - new WiFi(); connect({ssid, password, enforce}, cb) BLOCKS the whole runtime
//   (cyw43_arch_wifi_connect_bssid_timeout_ms, CONNECT_TIMEOUT 30000): `joinMs` on success, 30 s on
//   failure, modelled as a loop stall; 'associated', 'connected' and cb run before connect() returns.
// - without enforce: true, wifi.js first asks get_connection; with the link down that answers errno -1
//   and connect() calls back with a SystemError without trying to join.
// - an empty or missing ssid, password or security is replaced by the board's stored WIFI_SSID,
//   WIFI_PASSWORD, WIFI_SECURITY (wifi.js connect: `if (!connectInfo.password)`...), which Kaluma's own
//   setup writes. The auth mode (pico_cyw43_wifi_connect): OPEN, or WPA2/WPA mixed when the password
//   has 8 or more characters; a security string overrides it: 'OPEN', 'WPA2_WPA_PSK' (mixed),
//   'WPA2_PSK' (AES). 'WPA_PSK' and 'WEP_PSK' map to values that are not CYW43 auth modes: not modelled.
//   The access point here is open when its password is empty: it takes only OPEN, a WPA one only WPA.
// - no link-loss event and no reconnect: 'disconnected' only follows our own disconnect(); poll
//   getConnection(cb), which answers synchronously.
// - SSID and password go through the binary-string conversion: a char above U+00FF becomes byte 0.

import { wireBytes } from './net.mjs'

export const JOIN_TIMEOUT_MS = 30000
const BSSID = '4c:ed:fb:a1:b2:c3'
const airBytes = text => Buffer.from(text, 'utf8')
const deviceBytes = text => wireBytes(String(text))

/** The radio environment of one device (survives reboots) and the test's controller of it. */
export function createKalumaWifiEnvironment ({ ap, scheduler }) {
  const env = {
    ap: ap ? { ...ap } : null,
    joinMs: 2500,
    linkUp: false,
    outageUntil: -Infinity,
    onLinkLost: () => {},
    onJoined: () => {}
  }
  const lose = () => {
    if (!env.linkUp) return
    env.linkUp = false
    env.onLinkLost()
  }
  env.controller = {
    /** {ssid, password} or null (the access point is gone: the link drops, silently). */
    setAccessPoint (next) {
      env.ap = next ? { ...next } : null
      if (!next) lose()
    },
    /** The link drops now and the access point stays out of reach for outageMs; the device is not told. */
    dropLink ({ outageMs = 5000 } = {}) {
      env.outageUntil = scheduler.now() + outageMs
      lose()
    },
    /** What SNTP servers would say: Kaluma has no SNTP, so the device never learns it. */
    setNetworkTime () {},
    /** The auth mode of the last join: 'OPEN' or 'WPA2'. */
    get auth () { return env.lastAuth },
    /** How long a successful join blocks the board. */
    setJoinDelay (ms) { env.joinMs = ms },
    get connected () { return env.linkUp },
    /** The name as the device gave it (its bytes, one char each). */
    get ssid () { return env.linkUp ? env.ssid : undefined },
    get accessPoint () { return env.ap && { ...env.ap } }
  }
  return env
}

export function createKalumaWifi ({ realm, loop, env, events, scheduler }) {
  const systemError = (errno, message) => new realm.global.SystemError(errno, message)
  const info = () => realm.data({ ssid: env.ap.ssid, bssid: BSSID })
  const nat = {
    join (ssid, password, security) {
      const ap = env.ap
      if (typeof ssid !== 'string') throw realm.error('TypeError', 'SSID error')
      let open = !(typeof password === 'string' && deviceBytes(password).length >= 8)
      if (typeof security === 'string') {
        if (security === 'WPA_PSK' || security === 'WEP_PSK') throw new Error(`host/kaluma: security ${security} is not modelled`)
        if (security === 'OPEN') open = true
        else if (security === 'WPA2_WPA_PSK' || security === 'WPA2_PSK') open = false
      }
      env.lastAuth = open ? 'OPEN' : 'WPA2'
      const apOpen = !ap?.password
      const ok = ap && scheduler.now() >= env.outageUntil && deviceBytes(ssid).equals(airBytes(ap.ssid)) && open === apOpen && (open || deviceBytes(password).equals(airBytes(ap.password)))
      loop.stall(ok ? env.joinMs : JOIN_TIMEOUT_MS)
      env.linkUp = !!ok
      if (ok) {
        env.ssid = String(ssid)
        env.onJoined()
      }
      return ok ? null : systemError(-1, 'WiFi connection failed')
    },
    linkUp: () => env.linkUp,
    info,
    down: () => systemError(-1, 'WiFi is not connected'),
    disconnect () { env.linkUp = false; env.onLinkLost() }
  }
  const make = realm.run(`(function (EventEmitter, nat, storage) {
    class WiFi extends EventEmitter {
      connect (options, cb) {
        options = options || {}
        if (!options.ssid) {
          options.ssid = storage.getItem('WIFI_SSID')
          if (!options.ssid) { if (cb) cb(new Error('WIFI SSID is required')); return }
        }
        if (!options.password) options.password = storage.getItem('WIFI_PASSWORD')
        if (!options.security) options.security = storage.getItem('WIFI_SECURITY')
        const join = () => {
          const err = nat.join(options.ssid, options.password, options.security)
          if (err) { if (cb) cb(err); return }
          this.emit('associated')
          this.emit('connected')
          if (cb) cb(null, nat.info())
        }
        if (options.enforce) return join()
        this.getConnection((err, connection) => {
          if (err) { if (cb) cb(err); return }
          if (cb) cb(null, connection)
        })
      }
      disconnect (cb) { nat.disconnect(); this.emit('disconnected'); if (cb) cb(null) }
      getConnection (cb) { if (nat.linkUp()) cb(null, nat.info()); else cb(nat.down()) }
    }
    return { WiFi }
  })`, 'wifi.js')
  return { make: storage => make(events.EventEmitter, realm.object(nat), storage) }
}
