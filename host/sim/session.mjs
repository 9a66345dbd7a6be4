// One simulated tablecall: the built bundle in the host runtime, a broker (in-process aedes unless
// one is given), and the staff view (the staff board's state on a persistent session) that times each
// call from key press to delivery.
import { EventEmitter } from 'node:events'
import { build } from '../../build.mjs'
import { createDevice } from '../espruino/runtime.mjs'
import { createKalumaDevice } from '../kaluma/runtime.mjs'
import { startBroker } from '../broker.mjs'
import { deviceId } from '../device-id.mjs'
import { startStaffView } from './staff.mjs'

const SIM_SERIAL = 'e6614c311b4e6c29'
// The host runtime's model of each board family (ESP32 adds ESP32.setAtten and Wifi.setConfig).
const BOARDS = { esp32: 'ESP32', rp2040: 'RPI_PICO_W', linux: 'LINUX' }
// For a config without a battery, so the simulator can show one: an ADC pin (ESP32's; the Pico W's
// on Kaluma), equal resistors.
const SIM_BATTERY = { pin: 'D35', divider: 2, scale: 1 }
const SIM_BATTERY_KALUMA = { ...SIM_BATTERY, pin: 'D28' }
const FULL_CELL_V = 4.2

function brokerAddress (url) {
  let parsed
  try {
    parsed = new URL(url)
  } catch {
    throw new Error(`--broker: "${url}" is not a URL (fix: use mqtt://host:port, e.g. mqtt://broker.hivemq.com:1883)`)
  }
  if (parsed.protocol !== 'mqtt:') throw new Error(`--broker: only plain mqtt:// is supported by the device, got ${parsed.protocol} (fix: mqtt://host:1883)`)
  return { host: parsed.hostname, port: Number(parsed.port || 1883) }
}

/**
 * @param {{configPath?: string, outPath?: string, brokerUrl?: string, wifi?: boolean, fakeTimers?: boolean, serial?: string, log?: (line: string) => void, battery?: boolean}} options
 *   battery: simulate a cell (on D35 behind a 2:1 divider when the config sets no battery)
 *   runtime: 'kaluma' runs the Kaluma bundle in host/kaluma (board "linux" unless the config says rp2040)
 * Emits 'call' {payload, table, latencyMs?, dup} for every call event delivered (as before the staff
 * view had state), 'table' {table, change: 'new' | 'update' | 'cleared', since?, exact?} when the staff
 * view's state of a table changes, 'status' (payload) and 'battery' (payload, a valid voltage).
 */
export async function startSession ({ configPath = 'espruino.config.json', outPath = 'dist/tablecall.js', brokerUrl, wifi = true, fakeTimers = false, serial = SIM_SERIAL, log, battery = false, runtime } = {}) {
  let batteryAdded = false
  const adjust = config => {
    if (runtime) config = { ...config, runtime, board: runtime === 'kaluma' && config.board !== 'rp2040' ? 'linux' : config.board }
    if (config.runtime === 'kaluma' && !wifi) throw new Error('--no-wifi: Kaluma always has its WiFi module (fix: leave out --no-wifi)')
    batteryAdded = battery && !config.battery
    return batteryAdded ? { ...config, battery: config.runtime === 'kaluma' ? SIM_BATTERY_KALUMA : SIM_BATTERY } : config
  }
  const { code, config } = await build({ configPath, outPath, target: 'sim', adjust })
  const target = brokerUrl ? brokerAddress(brokerUrl) : null
  const broker = target ? null : await startBroker()
  const address = target || { host: '127.0.0.1', port: broker.port }
  const url = `mqtt://${address.host}:${address.port}`
  // A configured `id` (a private broker's device) wins over the one from the chip's serial.
  const id = config.id ?? deviceId(serial)
  const fill = template => template.replaceAll('{id}', id)

  const session = new EventEmitter()
  const pressedAt = new Map(config.buttons.map(b => [b.table, []]))
  const onChange = ({ kind, device, table, change }, packet, { board }) => {
    if (kind === 'status') return session.emit('status', packet.payload.toString())
    if (kind === 'battery') return session.emit('battery', packet.payload.toString()) // checked: 2.50-4.50
    if (kind === 'event') {
      const at = pressedAt.get(table).shift()
      session.emit('call', { payload: packet.payload.toString(), table, latencyMs: at === undefined ? undefined : Date.now() - at, dup: packet.dup })
    }
    if (change === 'new' || change === 'update' || change === 'cleared') {
      const call = board.calls.get(table)?.get(device)
      session.emit('table', { table, change, since: call?.since, exact: call?.exact })
    }
  }

  let staff
  try {
    staff = await startStaffView({ url, config, devices: [id], onChange })
  } catch (err) {
    if (broker) await broker.close()
    throw new Error(`cannot reach the broker at ${url} (${err.code || err.message}) (fix: check --broker, or leave it out to use the built-in broker)`)
  }

  const device = config.runtime === 'kaluma'
    ? createKalumaDevice({ code, fakeTimers, uid: serial.toUpperCase(), wifi: config.wifi, connectOverride: () => address, resolve: () => address.host, log })
    : createDevice({
      code,
      fakeTimers,
      serial,
      wifi: wifi ? config.wifi : false,
      board: BOARDS[config.board],
      connectOverride: () => address,
      log
    })
  // What the ADC pin reads of the cell through the divider, on a board whose ADC is off by exactly
  // what the config's scale corrects, so the device reports the simulated cell voltage.
  let cellV = FULL_CELL_V
  const feedCell = () => config.battery && device.setAnalog(config.battery.pin, Math.min(1, cellV / (3.3 * config.battery.divider * config.battery.scale)))
  feedCell()

  return Object.assign(session, {
    /** Powers the device up. */
    start: () => device.start({ boot: 'power' }),
    config,
    device,
    serial,
    broker,
    url,
    topic: fill(config.mqtt.topic),
    statusTopic: fill(config.mqtt.statusTopic),
    batteryTopic: fill(config.mqtt.batteryTopic),
    batteryAdded,
    staff: staff.staff,
    /** Answers the table waiting longest, as a tap on the staff board does; returns it, or null. */
    async answerLongest () {
      const [oldest] = staff.staff.board.queue(Date.now())
      if (!oldest) return null
      await staff.answer(oldest.table)
      return oldest.table
    },
    /** The simulated cell's voltage drops by `volts` (not below 0); returns the new voltage. */
    drainBattery (volts) {
      cellV = Math.max(0, cellV - volts)
      feedCell()
      return cellV
    },
    /** Presses table `table`'s button (bounce, hold, release) and remembers when, for the latency. */
    async press (table, options) {
      const index = config.buttons.findIndex(b => b.table === table)
      if (index < 0) throw new Error(`no button for table ${table}`)
      pressedAt.get(table).push(Date.now())
      await device.press(config.buttons[index].pin, options)
    },
    async close () {
      device.stop()
      await staff.close()
      if (broker) await broker.close()
    }
  })
}
