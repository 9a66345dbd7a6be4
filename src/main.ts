// Wires the firmware together: config -> wifi -> mqtt <- buttons. Everything else lives in the modules.
import { watchButtons } from './buttons'
import { startWifi } from './wifi'
import { createMqtt } from './mqtt'

const S = __TABLECALL__
const WATCHDOG_S = 30
const log = (line: string) => console.log(line)

// 8 hex digits from the chip's serial number: unique per device, the same after every reboot.
function deviceId (): string {
  if (S.id) return S.id
  const serial = String(getSerial())
  let h = 0
  for (let i = 0; i < serial.length; i++) h = (h * 31 + serial.charCodeAt(i)) % 2147483647
  return ('0000000' + h.toString(16)).slice(-8)
}

// Says how the last run ended, so a reboot by the watchdog or a flat battery shows in the log.
function reportBoot () {
  const storage = require('Storage')
  const last = storage.readJSON('tablecall.boot', true) as { n: number, clean: boolean } | undefined
  const n = last ? last.n + 1 : 1
  log('main: start ' + n + (last ? (last.clean ? ', last run stopped cleanly' : ', last run ended without a clean stop (power loss, reset or watchdog)') : ''))
  storage.writeJSON('tablecall.boot', { n, clean: false })
  E.on('kill', () => storage.writeJSON('tablecall.boot', { n, clean: true }))
  const flags = E.getErrorFlags()
  if (flags.length) log('main: error flags ' + flags.join(', '))
  E.on('errorFlag', f => log('main: error flags ' + f.join(', ')))
}

// Runs once per boot: Espruino runs the top-level code at upload and, from .bootcde (npm run flash),
// at every power-up. No E.on('init') handler: after save() the image holds the state of a running
// program, so 'init' (after the save and at power-up) would find it started already.
function start () {
  try {
    // Not kicked automatically: only a running event loop kicks it, so a hang reboots the board.
    E.enableWatchdog(WATCHDOG_S, false)
    setInterval(() => E.kickWatchdog(), WATCHDOG_S * 1000 / 3)
  } catch (e) {
    log('main: no hardware watchdog on this board')
  }
  reportBoot()
  const id = deviceId()
  const fill = (pieces: string[]) => pieces.join(id)
  const mqtt = createMqtt({
    host: S.host,
    port: S.port,
    tls: S.tls,
    ca: S.ca ? atob(S.ca) : undefined,
    keepalive: S.keepalive,
    qos: S.qos,
    connect: fill(S.connect),
    online: fill(S.online),
    press: S.press.map(fill),
    idAt: S.idAt,
    ping: S.ping
  }, log)
  log('mqtt: topic ' + S.topic.split('{id}').join(id) + ' on ' + S.host + ':' + S.port)
  watchButtons(S.pins, S.debounceMs, i => {
    log('btn: table ' + S.tables[i])
    mqtt.press(i)
  })
  E.on('kill', () => mqtt.down('the program is stopping'))
  startWifi(S.ssid, S.pass, log, mqtt.up, () => mqtt.down('WiFi is down'))
}

start()
