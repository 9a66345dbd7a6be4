// What `"runtime": "kaluma"` (Kaluma 1.2.1 on a Pico W) cannot do, as config problems naming the field
// and the fix. Each rule names the Kaluma source behind it (github.com/kaluma-project/kaluma, tag 1.2.1).
import { pinUses, isObject } from './pins.mjs'

const OTHER_RUNTIME = 'or "runtime": "espruino" on an ESP32 board'

/** Adds a problem per setting Kaluma cannot honour, and a warning where it works with a cost. */
export function checkKaluma (config, target, problems, warnings) {
  if (!isObject(config) || config.runtime !== 'kaluma') return
  const mqtt = isObject(config.mqtt) ? config.mqtt : {}
  const wifi = isObject(config.wifi) ? config.wifi : {}
  // Kaluma 1.2.1 builds for the Pico W only (targets/rp2/boards/pico-w); the simulator's host model
  // of it runs any D<n> (board "linux").
  const boards = target === 'sim' ? ['rp2040', 'linux'] : ['rp2040']
  if (!boards.includes(config.board)) problems.push(`board: ${JSON.stringify(config.board)} with "runtime": "kaluma", which runs on the Raspberry Pi Pico W only (fix: set "board": "rp2040", ${OTHER_RUNTIME})`)
  // No mbedTLS/altcp_tls in src/ or targets/rp2 at 1.2.1: net.js is plain TCP.
  if (mqtt.tls === true) problems.push(`mqtt.tls: Kaluma 1.2.1 has no TLS (fix: set "tls": false with a broker on the restaurant's own network, ${OTHER_RUNTIME})`)
  // module_pico_cyw43.c has no cyw43_wifi_pm call: the driver's default power save always applies.
  if (wifi.powersave === 'none') problems.push(`wifi.powersave: "none", but Kaluma 1.2.1 cannot switch WiFi power save off; its chip driver always saves power (fix: remove wifi.powersave or set "ps-poll", ${OTHER_RUNTIME})`)
  // net.js never hears of a reset or refused connection (tcp_err(pcb, NULL) in pico_cyw43_network_connect):
  // the MQTT ping is the only way the device notices a dead link.
  if (mqtt.keepalive === 0) problems.push(`mqtt.keepalive: 0 turns pings off, but on Kaluma a missing ping answer is the only sign of a dead connection (fix: e.g. "keepalive": 60, ${OTHER_RUNTIME})`)
  // targets/rp2/src/system.c km_running_script_check: GPIO 22 read low at boot skips the saved program.
  for (const u of pinUses(config)) {
    if (u.pin === 'D22') problems.push(`${u.at}: "D22" held low at power-up makes Kaluma skip the saved program, and this wiring holds it low (fix: use another pin, e.g. D20 or D21)`)
  }
  // pico_cyw43_network_connect resolves a host name with a blocking wait of up to 3 s per connect.
  if (typeof mqtt.host === 'string' && !/^[0-9.]+$/.test(mqtt.host)) warnings.push(`mqtt.host: "${mqtt.host}" is a name; Kaluma looks it up at every connect, and the board stops reading buttons for up to 3 s meanwhile (use the broker's IP address where it is fixed)`)
}
