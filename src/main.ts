// Wires the firmware together: config -> wifi -> mqtt <- buttons, tables. Everything else lives in the modules.
import { log, onStop, loadSaved, save, prepareAdc } from './platform'
import { watchButtons } from './buttons'
import { startWifi } from './wifi'
import { startMqtt, mqttUp, mqttDown, BROKER, store } from './mqtt'
import { pressTable, tableMessage, publishTables, press, open, since, top } from './tables'
import { batteryConnected } from './battery'
import { S } from './settings'
import { id } from './id'

function connected () {
  publishTables()
  batteryConnected()
}

// A deliberate restart keeps what it must not lose: the open calls with their first presses, the
// presses still waiting for the broker, with the buttons they belong to, and each table's highest id
// seen (a broker restored from an old save may still hold an answered call as calling).
function stopping () {
  mqttDown('the program is stopping')
  save(JSON.stringify([S.tables, open, since, store.filter(m => m.k < 0).map(m => m.k), top]))
}

// What follows runs once per boot, as top-level code (Espruino keeps no source text of it, where a
// start() function would hold it in memory for good): Espruino runs it at upload and, from .bootcde
// (npm run flash), at every power-up. No E.on('init') handler: after save() the image holds the state
// of a running program, so 'init' (after the save and at power-up) would find it started already.
// In a block: its names (the saved text...) are dropped once it has run, where top-level ones would be
// kept for good.
{
  if (__TABLECALL__.battery) prepareAdc(__TABLECALL__.battery.pin)
  // __TABLECALL__.battery on its own, not through S: without a battery setting it is null in the
  // bundle and esbuild drops the battery code.
  startMqtt(tableMessage, __TABLECALL__.battery ? connected : publishTables)
  log('mqtt: topic ' + __TABLECALL__.topic.split('{id}').join(id) + ' on ' + BROKER)
  watchButtons(pressTable)
  onStop(stopping)
  startWifi(mqttUp, mqttDown)
  // Last (the connection it may have started answers later): what the last program kept, once, if it had
  // the same buttons (a new upload may have others). Deleted first, so a text that cannot be read stops
  // this once, after everything else has started.
  const saved = loadSaved()
  if (saved) {
    save('')
    const kept = JSON.parse(saved)
    if ('' + kept[0] === '' + S.tables) {
      // Every table's state, idle ones too (null: one the last program never learnt): the device knows
      // them as before and publishes them at its next CONNACK, so an idle state the broker never got
      // (lost with the connection, or the broker crashed first) still reaches it and every screen.
      kept[4].forEach((t: number, i: number) => {
        top[i] = t
        open[i] = kept[1][i]
        since[i] = kept[2][i]
      })
      kept[3].forEach(press)
    }
  }
}
