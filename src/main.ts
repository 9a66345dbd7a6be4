// Wires the firmware together: config -> wifi -> mqtt <- buttons, tables. Everything else lives in the modules.
import { watchButtons } from './buttons'
import { startWifi } from './wifi'
import { startMqtt, mqttUp, mqttDown, publish } from './mqtt'
import { startTables, pressTable, tableMessage, restoreTables, lights } from './tables'
import { startBattery, batteryConnected } from './battery'

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

function pressed (i: number) {
  log('btn: table ' + S.tables[i])
  publish({ p: S.press[i], at: S.qos ? S.idAt[i] : 0, id: 0, k: -1 })
  pressTable(i)
}

function connected (session: boolean) {
  restoreTables(session)
  batteryConnected()
}

const stopping = () => mqttDown('the program is stopping')
const wifiDown = () => mqttDown('WiFi is down')

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
  // The packets get the id in place, so each is kept once (memory is scarce): see espruino.d.ts.
  const fill = (pieces: unknown) => (pieces as string[]).join(id)
  S.connect = fill(S.connect)
  S.online = fill(S.online)
  S.subscribe = fill(S.subscribe)
  S.press = S.press.map(fill)
  S.state = S.state.map(fill)
  // the CA certificate as DER bytes, in place too
  if (S.ca) S.ca = atob(S.ca)
  // __TABLECALL__.battery on its own, not through S: without a battery setting it is null in the
  // bundle and esbuild drops the battery code.
  startMqtt(tableMessage, __TABLECALL__.battery ? connected : restoreTables, lights, log)
  startTables()
  log('mqtt: topic ' + S.topic.split('{id}').join(id) + ' on ' + S.host + ':' + S.port)
  watchButtons(S.pins, S.debounceMs, pressed)
  if (__TABLECALL__.battery) startBattery(fill, log)
  E.on('kill', stopping)
  startWifi(S.ssid, S.pass, S.powersave, log, mqttUp, wifiDown)
}

start()
