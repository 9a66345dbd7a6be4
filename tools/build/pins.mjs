// Which GPIO each setting may use, per board family (`board`). A pin has one of three roles: a button
// (input; the wiring pulls it down with an external 10 kOhm to GND and a press connects it to 3V3), a
// light (output driving an LED) or the battery (analog input). Every rule cites the document behind it.

const FULL_CELL = 4.2 // volts of a fully charged Li-ion cell
const MAX_PIN = 3.3 // volts an input pin of either chip takes: its supply

const ROLES = { button: 'button', led: 'light', battery: 'battery' }

// The classic ESP32 on an ESP32-WROOM-32 or ESP32-WROVER module. Section names are those of Espressif's
// "ESP32 Series Datasheet" (v3.x; v4 renamed some) and the "ESP-IDF Programming Guide" (ESP32).
function esp32 (n, role) {
  // Datasheet, "Pin Description": the chip has GPIO0-39 except 20, 24 and 28-31.
  if (n > 39 || n === 20 || n === 24 || (n >= 28 && n <= 31)) return { error: 'does not exist on the ESP32' }
  // "ESP32-WROOM-32E Datasheet" and "ESP32-WROVER-E Datasheet", "Pin Definitions": GPIO37 and GPIO38
  // (SENSOR_CAPP/CAPN) are not module pins.
  if (n === 37 || n === 38) return { error: 'is not brought out on ESP32-WROOM/WROVER modules' }
  // ESP-IDF Programming Guide, "GPIO & RTC GPIO": "GPIO6-11 are usually used for SPI flash"; the module
  // datasheets, "Pin Definitions": they are wired to the module's flash chip.
  if (n >= 6 && n <= 11) return { error: 'is wired to the module\'s SPI flash; using it crashes the board' }
  // Datasheet, "Pin Description": GPIO1 is U0TXD and GPIO3 U0RXD. Espruino's console on the ESP32 is
  // UART0, and `npm run flash` talks to the board through it.
  if (n === 1 || n === 3) return { error: 'is the serial console (UART0), which npm run flash talks through' }
  if (role === 'battery') {
    // Datasheet, "Analog-to-Digital Converter (ADC)": ADC1 is on GPIO32-39, ADC2 on GPIO0, 2, 4, 12-15,
    // 25-27. ESP-IDF Programming Guide, "Analog to Digital Converter (ADC)", "Hardware Limitations": ADC2
    // is used by the Wi-Fi driver, so it cannot be read while WiFi is on.
    if (n >= 32) return null
    if ([0, 2, 4, 12, 13, 14, 15, 25, 26, 27].includes(n)) return { error: 'is on ADC2, which the WiFi radio uses: it cannot be read while WiFi is on' }
    return { error: 'has no ADC' }
  }
  // Datasheet, "Strapping Pins": GPIO0 low at reset starts the serial bootloader ("Download Boot").
  // A button's pull-down holds it low, and a light's LED to GND can pull it low.
  if (n === 0) return { error: 'selects the boot mode: pulled low at power-up, the board starts its bootloader instead of the firmware' }
  // ESP-IDF Programming Guide, "GPIO & RTC GPIO": "GPIO34-39 can only be set as input mode and do not
  // have software-enabled pullup or pulldown functions".
  if (n >= 34) {
    return role === 'led'
      ? { error: 'is input-only on the ESP32 and cannot drive a light' }
      : { warning: 'is input-only with no internal pull-down: the external 10 kΩ pull-down to GND (docs/wiring.md) is required, or the open pin floats and calls come from nowhere' }
  }
  // Espressif ESP-FAQ, "GPIO & RTC GPIO" (ESP32 pin configurations), and the ESP32-WROVER-E Datasheet,
  // "Pin Definitions": WROVER modules use GPIO16 and GPIO17 for their PSRAM (WROOM-32E modules with
  // PSRAM use GPIO16). The build cannot know the module, so it warns.
  if (n === 16 || n === 17) return { warning: 'on ESP32-WROVER modules GPIO16 and GPIO17 drive the PSRAM (on WROOM-32E modules with PSRAM, GPIO16): on such a board move these to free pins, e.g. D25, D26, D27, D32 (docs/wiring.md); WROOM modules without PSRAM are fine', shared: true }
  // Datasheet, "Strapping Pins": MTDI (GPIO12) high at reset sets the flash supply to 1.8 V; the 3.3 V
  // flash of WROOM modules then fails.
  if (n === 12 && role === 'button') return { warning: 'is a strapping pin: if the button is held while the board powers up, it selects a 1.8 V flash supply and the board does not start' }
  return null
}

// The Raspberry Pi Pico W (RP2040).
function picoW (n, role) {
  // "RP2040 Datasheet", 1.4.3 "GPIO Functions": GPIO0-29.
  if (n > 29) return { error: 'does not exist on the RP2040' }
  // "Raspberry Pi Pico W Datasheet", "Pinout" and the wireless interface: GPIO23 (WL_ON), GPIO24 (data),
  // GPIO25 (chip select) and GPIO29 (clock, shared with the VSYS/3 ADC input) belong to the CYW43439.
  if ([23, 24, 25, 29].includes(n)) return { error: 'is wired to the Pico W\'s wireless chip, not to a header pin' }
  // RP2040 Datasheet, 4.9 "ADC and Temperature Sensor": ADC inputs 0-3 are GPIO26-29 (29: see above).
  if (role === 'battery' && n < 26) return { error: 'has no ADC' }
  return null
}

const FAMILIES = {
  // `prefer`: the order pins are suggested in; on the ESP32 the plain GPIOs before strapping pins.
  esp32: { name: 'an ESP32', judge: esp32, prefer: [25, 26, 27, 32, 33, 21, 22, 23, 18, 19, 13, 14, 4, 5, 2, 15], adc: 'an ADC1 pin: D32, D33, D34, D35, D36 or D39', maxPin: MAX_PIN },
  rp2040: { name: 'a Pico W', judge: picoW, prefer: [...Array(29).keys()], adc: 'an ADC pin: D26 to D28', maxPin: MAX_PIN },
  // The host runtime and Espruino's Linux build: any D<n> for every role, so one config runs everywhere.
  linux: { name: 'a Linux', judge: () => null, prefer: [] }
}

const pinNumber = pin => typeof pin === 'string' && /^D[0-9]{1,2}$/.test(pin) ? Number(pin.slice(1)) : undefined
export const isObject = v => v !== null && typeof v === 'object' && !Array.isArray(v)

/** Every pin the config uses, in the order a clash is blamed: button pins, lights, the battery. */
export function pinUses (config) {
  const uses = []
  const buttons = Array.isArray(config.buttons) ? config.buttons : []
  buttons.forEach((b, i) => { if (isObject(b)) uses.push({ at: `buttons[${i}].pin`, pin: b.pin, role: 'button' }) })
  buttons.forEach((b, i) => { if (isObject(b) && b.led !== undefined) uses.push({ at: `buttons[${i}].led`, pin: b.led, role: 'led' }) })
  if (isObject(config.battery)) uses.push({ at: 'battery.pin', pin: config.battery.pin, role: 'battery' })
  return uses.filter(u => pinNumber(u.pin) !== undefined)
}

/** Free pins of this family that take `role` with no problem nor warning, for a fix. */
function freePins (family, role, used) {
  return family.prefer.filter(n => !used.has(`D${n}`) && !family.judge(n, role)).slice(0, 4).map(n => `D${n}`).join(', ')
}

/** Adds a problem per pin that cannot work and a warning per pin that needs care. */
export function checkPins (config, problems, warnings) {
  const uses = pinUses(config)
  const owner = new Map()
  for (const u of uses) {
    if (owner.has(u.pin)) problems.push(`${u.at}: "${u.pin}" is already used by ${owner.get(u.pin)} (fix: give each button, light and the battery its own pin)`)
    else owner.set(u.pin, u.at)
  }
  const family = FAMILIES[config.board]
  if (!family) return
  const used = new Set(owner.keys())
  const shared = new Map()
  for (const u of uses) {
    const verdict = family.judge(pinNumber(u.pin), u.role)
    if (!verdict) continue
    if (verdict.error) {
      const fix = u.role === 'battery' ? `use ${family.adc}` : `use a free pin for a ${ROLES[u.role]}, e.g. ${freePins(family, u.role, used)}`
      problems.push(`${u.at}: "${u.pin}" ${verdict.error} (fix: ${fix}; or set "board" if this is not ${family.name} board)`)
    } else if (verdict.shared) {
      shared.set(verdict.warning, [...(shared.get(verdict.warning) || []), u])
    } else warnings.push(`${u.at}: "${u.pin}" ${verdict.warning}`)
  }
  for (const [text, list] of shared) warnings.push(`${list.map(u => `${u.at} "${u.pin}"`).join(', ')}: ${text}`)
  checkDivider(config.battery, family, problems)
}

// ESP32 Series Datasheet, "Recommended Operating Conditions", and RP2040 Datasheet, 4.9 "ADC and
// Temperature Sensor": an input pin takes at most its 3.3 V supply.
function checkDivider (battery, family, problems) {
  if (!isObject(battery) || !family.maxPin || pinNumber(battery.pin) === undefined) return
  const divider = battery.divider
  if (typeof divider !== 'number' || divider < 1) return // the schema check reports it
  const volts = FULL_CELL / divider
  if (volts > family.maxPin) {
    problems.push(`battery.divider: ${divider} puts ${volts.toFixed(2)} V on battery.pin from a full cell (${FULL_CELL} V), above the ${family.maxPin} V ${family.name} pin takes (fix: a divider of at least ${(FULL_CELL / family.maxPin).toFixed(2)}, e.g. 2 with two equal resistors)`)
  }
}
