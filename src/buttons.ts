// Table buttons: each pin is wired to 3V3 through its button with a 10 kOhm pull-down, so a press is a
// rising edge. Espruino's debounce waits until the level is stable, so a bouncing contact or a held
// button is one press.

export function watchButtons (pins: string[], debounceMs: number, onPress: (index: number) => void): void {
  pins.forEach((pin, index) => {
    // The internal pull-down backs up the external resistor if it is missing or loose.
    pinMode(pin, 'input_pulldown')
    setWatch(() => onPress(index), pin, { repeat: true, edge: 'rising', debounce: debounceMs })
  })
}
