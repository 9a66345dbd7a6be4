// The table buttons, the same on every runtime. Button i is on the i-th pin of __TABLECALL__.pins and calls
// table __TABLECALL__.tables[i] (the config's `buttons`). Each pin is wired to 3V3 through its button
// with a 10 kOhm pull-down (the pin's own pull-down backs it up), so a press is a rising edge; it counts
// once the level has been stable for `debounceMs`, so a bouncing contact or a held button is one press.
// The adapter watches a pin so, in its runtime's words (watchPress).
import { watchPress } from './platform'

/** `onPress(i)` at each press of button i. */
export function watchButtons (onPress: (i: number) => void) {
  // One handler for every button, which finds the button by its pin: a function per button would stay
  // in memory for good, with the scope it was made in. (The pins are split again at each press: a list
  // the handler kept would stay in memory too.)
  const pressed = (pin: string) => onPress(__TABLECALL__.pins.split(' ').indexOf(pin))
  __TABLECALL__.pins.split(' ').forEach(pin => watchPress(pin, pressed))
}
