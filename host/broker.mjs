// A real MQTT broker (aedes 1.x) on 127.0.0.1 for tests and the simulator: TCP, and optionally
// MQTT over WebSockets for the browser board. stop()/start() take it down and bring up a fresh
// one (no sessions, no subscriptions) on the same ports, like a restarted broker.
import net from 'node:net'
import http from 'node:http'
import { Aedes } from 'aedes'
import { WebSocketServer, createWebSocketStream } from 'ws'

function listen (server, port, host) {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve(server.address().port)
    })
  })
}

/**
 * @param {{port?: number, host?: string, ws?: boolean|number}} options ws: true = a free port, or a port
 * @returns {Promise<{port, url, wsPort?, wsUrl?, aedes, stop(), start(), restart(), close()}>}
 */
export async function startBroker ({ port = 0, host = '127.0.0.1', ws = false } = {}) {
  const state = { aedes: null, servers: [], sockets: new Set() }
  const broker = {
    get aedes () { return state.aedes },
    async start () {
      if (state.aedes) return
      state.aedes = await Aedes.createBroker()
      const track = socket => {
        state.sockets.add(socket)
        socket.once('close', () => state.sockets.delete(socket))
      }
      const tcp = net.createServer(socket => { track(socket); state.aedes.handle(socket) })
      broker.port = await listen(tcp, broker.port ?? port, host)
      broker.url = `mqtt://${host}:${broker.port}`
      state.servers = [tcp]
      if (ws) {
        const httpServer = http.createServer()
        httpServer.on('connection', track)
        const wss = new WebSocketServer({ server: httpServer })
        wss.on('connection', (socket, req) => state.aedes.handle(createWebSocketStream(socket), req))
        broker.wsPort = await listen(httpServer, broker.wsPort ?? (ws === true ? 0 : ws), host)
        broker.wsUrl = `ws://${host}:${broker.wsPort}`
        state.servers.push(httpServer, wss)
      }
    },
    async stop () {
      if (!state.aedes) return
      for (const socket of state.sockets) socket.destroy()
      state.sockets.clear()
      await Promise.all(state.servers.map(s => new Promise(resolve => s.close(() => resolve()))))
      await new Promise(resolve => state.aedes.close(resolve))
      state.aedes = null
    },
    async restart () {
      await broker.stop()
      await broker.start()
    },
    close () { return broker.stop() }
  }
  await broker.start()
  return broker
}
