// Where Debian's mosquitto is (apt-get install -y mosquitto puts it in /usr/sbin).
import { existsSync } from 'node:fs'

export const MOSQUITTO = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto'].find(p => existsSync(p))
