// k6/websockets: a session that sends a message, gets it echoed, pings and gets the pong emits
// ws_connecting, ws_sessions, ws_msgs_sent/received, ws_ping and ws_session_duration
// doc: https://grafana.com/docs/k6/latest/javascript-api/k6-websockets/
// doc: https://grafana.com/docs/k6/latest/javascript-api/k6-websockets/websocket/websocket-ping/
// doc: https://grafana.com/docs/k6/latest/using-k6/metrics/reference/#websockets
// expect exit: 0
// expect check: "the message is echoed" passes 1 fails 0
// expect check: "the ping is answered" passes 1 fails 0
// expect metric: ws_sessions count == 1
// expect metric: ws_connecting count == 1
// expect metric: ws_msgs_sent count == 1
// expect metric: ws_msgs_received count == 1
// expect metric: ws_session_duration count == 1
// expect metric: ws_ping count == 1
import { WebSocket } from 'k6/websockets';
import { check } from 'k6';

export const options = { vus: 1, iterations: 1, summaryTrendStats: ['count', 'max'] };

export default function () {
  const ws = new WebSocket(__ENV.WS_URL);
  ws.onopen = () => ws.send('hello');
  ws.onmessage = (e) => {
    check(e.data, { 'the message is echoed': (d) => d === 'hello' });
    ws.ping();
  };
  ws.onpong = () => {
    check(true, { 'the ping is answered': (x) => x });
    ws.close();
  };
}
