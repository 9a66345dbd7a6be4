// Wires the firmware together: config -> wifi -> mqtt <- buttons, tables. Everything else lives in the modules.
import { log, serialNumber, reportBoot, startWatchdog, onStop, watchButtons, startWifi, loadSaved, save } from './platform'
import { startMqtt, mqttUp, mqttDown, publish, waitingPresses } from './mqtt'
import { startTables, pressTable, tableMessage, publishTables, openCalls, restoreCalls, calling, JOINED } from './tables'
import { startBattery, batteryConnected } from './battery'

const S = __TABLECALL__

// 8 hex digits from the chip's serial number: unique per device, the same after every reboot.
function deviceId (): string {
  if (S.id) return S.id
  const serial = serialNumber()
  let h = 0
  for (let i = 0; i < serial.length; i++) h = (h * 31 + serial.charCodeAt(i)) % 2147483647
  return ('0000000' + h.toString(16)).slice(-8)
}

// A press: the key says its button and whether it joined an open call (src/tables.ts JOINED).
function pressMessage (k: number) {
  const i = (-1 - k) % 16
  return { p: S.press[i], at: S.qos ? S.idAt[i] : 0, id: 0, k, t: Date.now() }
}

function pressed (i: number) {
  log('btn: table ' + S.tables[i])
  publish(pressMessage(calling(i) ? JOINED - i : -1 - i))
  pressTable(i)
}

function connected () {
  publishTables()
  batteryConnected()
}

// A deliberate restart keeps the open calls and the presses still waiting for the broker, with the
// buttons they belong to.
function stopping () {
  mqttDown('the program is stopping')
  save(JSON.stringify([S.tables, openCalls(), waitingPresses()]))
}

// Once, at boot: what the last program kept (if it had the same buttons), then deleted.
function restore () {
  const saved = loadSaved()
  if (!saved) return
  // deleted first: a text that cannot be read stops this once, after everything else has started
  save('')
  const kept = JSON.parse(saved)
  if ('' + kept[0] !== '' + S.tables) return
  restoreCalls(kept[1])
  kept[2].forEach((k: number) => publish(pressMessage(k)))
}

const wifiDown = () => mqttDown('WiFi is down')

// Runs once per boot: Espruino runs the top-level code at upload and, from .bootcde (npm run flash),
// at every power-up. No E.on('init') handler: after save() the image holds the state of a running
// program, so 'init' (after the save and at power-up) would find it started already.
function start () {
  startWatchdog()
  const boots = reportBoot()
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
  startMqtt(tableMessage, __TABLECALL__.battery ? connected : publishTables, log)
  startTables(boots)
  log('mqtt: topic ' + S.topic.split('{id}').join(id) + ' on ' + S.host + ':' + S.port)
  watchButtons(S.pins, S.debounceMs, pressed)
  if (__TABLECALL__.battery) startBattery(fill, log)
  onStop(stopping)
  startWifi(S.ssid, S.pass, S.powersave, log, mqttUp, wifiDown)
  // last (the connection it may have started answers later)
  restore()
}

start()
