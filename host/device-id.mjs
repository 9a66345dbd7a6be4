// The device id the firmware derives from getSerial() (src/main.ts, deviceId), for host tools that
// must know a simulated device's topics. test/firmware.test.mjs checks the two agree.
export function deviceId (serial) {
  let h = 0
  for (let i = 0; i < serial.length; i++) h = (h * 31 + serial.charCodeAt(i)) % 2147483647
  return h.toString(16).padStart(8, '0')
}

export const fillId = (template, serial) => template.replaceAll('{id}', deviceId(serial))
