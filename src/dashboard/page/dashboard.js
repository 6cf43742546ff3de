// The swarmguard dashboard page: draws the frames the server streams (arena.js: robots, headings, trails,
// labels, scale bar; the table: suspicion, flags with their evidence, the ground truth in trials), logs the
// events in the terminal's words (the server sends each line), and sends the operator's controls with the
// token from the URL fragment (#token=..., never sent to the server with the page request). The controls
// are the console's commands under the console's names; they are off, with the reason, in a replay and
// once the run has ended. When the server says the run has ended, the page shows how (and the summary) and
// does not reconnect.
import { ArenaView, colour } from './arena.js';
import { cusumBar, evidenceText } from './evidence.js';

const TRAIL_POINTS = 120;
const CONTROLS = ['start', 'stop', 'estop', 'release', 'inject', 'end-injection', 'onflag'];
const $ = (id) => document.getElementById(id);
const token = $('token');
// The token leaves the address bar (screen shares, shoulder surfers, copied links) as soon as it is read;
// this tab keeps it for reloads.
const TOKEN_KEY = 'swarmguard-dashboard-token';
const fromUrl = new URLSearchParams(location.hash.slice(1)).get('token');
if (fromUrl) {
  sessionStorage.setItem(TOKEN_KEY, fromUrl);
  history.replaceState(null, '', location.pathname + location.search);
}
token.value = fromUrl || sessionStorage.getItem(TOKEN_KEY) || '';

let ws = null;
let info = null; // the welcome: ids, arena, radii, trial mode...
let arena = null;
let frame = null; // the latest frame
let trails = [];
let flags = {}; // robot id -> {suspicion, evidence, tick}
let ended = null; // the run-ended message, once the run is over
let nextId = 1;
let drawQueued = false;
let unacked = 0;

function connect() {
  ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
  // With the token shown at once, this connection's controls keep working even if someone locks the
  // address out with wrong tokens later (and beyond loopback it is what lets the page view).
  ws.onopen = () => {
    document.body.dataset.connection = 'open';
    if (token.value) ws.send(JSON.stringify({ type: 'hello', token: token.value }));
  };
  ws.onmessage = (m) => receive(JSON.parse(m.data));
  ws.onclose = () => {
    document.body.dataset.connection = 'closed';
    // The run is over: there is nothing to reconnect to, and the page keeps showing its end.
    if (ended) return;
    setState('disconnected: reconnecting...', true);
    setTimeout(connect, 1000);
  };
}

function receive(msg) {
  switch (msg.type) {
    case 'auth-needed':
      if (!token.value) say('viewing this dashboard needs the token (open the URL printed at start-up)', 'error');
      return;
    case 'welcome':
      welcome(msg);
      return;
    case 'frame':
      onFrame(msg);
      return;
    case 'run-ended':
      runEnded(msg);
      return;
    case 'result':
      say(msg.message, 'ok');
      return;
    case 'error':
      say(`refused: ${msg.reason}`, 'error');
      return;
  }
}

function welcome(w) {
  info = w;
  ended = null;
  arena = new ArenaView($('arena'), w);
  flags = { ...w.flags };
  trails = w.ids.map(() => []);
  $('title').textContent = `swarmguard: ${w.title}`;
  $('mode').textContent = w.mode === 'replay' ? '(replay)' : w.trialMode ? '(trial)' : '';
  const body = $('robots').tBodies[0];
  body.replaceChildren(
    ...w.ids.map((id) => {
      const tr = document.createElement('tr');
      tr.dataset.robot = id;
      tr.innerHTML =
        '<td class="id"></td><td><span class="bar"><i></i><b></b></span> <span class="susp"></span></td><td class="pose"></td>' +
        '<td><span class="flag"></span> <span class="evidence"></span> <span class="bar cusum hidden"><i></i><b></b></span> <span class="truth"></span></td>';
      tr.querySelector('.id').textContent = id;
      tr.querySelector('.bar b').style.left = `${w.flagAt * 100}%`;
      tr.querySelector('.cusum b').style.left = `${cusumBar(0, w.cusumThreshold).mark * 100}%`;
      return tr;
    }),
  );
  $('inject-robot').replaceChildren(...w.ids.map((id) => new Option(id, id)));
  $('inject-attack').replaceChildren(...w.attacks.map((a) => new Option(a, a)));
  $('events').replaceChildren();
  for (const e of w.events) logEvent(e);
  $('summary-box').classList.add('hidden');
  setControlsOff(w.controlsOff);
  showOnFlag(w.onFlag);
  showRunState(w);
  if (w.ended) runEnded(w.ended);
}

/** Turns the controls off with the reason shown (a replay, a run that has ended), or on (null). */
function setControlsOff(reason) {
  for (const id of CONTROLS) {
    $(id).disabled = reason !== null;
    $(id).title = reason ?? $(id).dataset.help;
  }
  token.disabled = reason !== null;
  $('onflag-mode').disabled = reason !== null;
  $('inject-form').classList.toggle('hidden', reason !== null || !info.trialMode);
  $('controls-off').textContent = reason === null ? '' : `controls off: ${reason}`;
}

/** What a flag does now (monitor.onFlag), beside the control that sets it. */
function showOnFlag(onFlag) {
  $('onflag-now').textContent = `now: ${onFlag}`;
  $('onflag-mode').value = onFlag;
}

/** The run (or replay) is over: say how, show the summary, turn the controls off; no reconnecting after this. */
function runEnded(e) {
  ended = e;
  const what = info && info.mode === 'replay' ? 'replay' : 'run';
  const how = e.reason === 'completed' ? (what === 'replay' ? ' (end of the recording)' : '') : e.reason === 'interrupted' ? ' (interrupted)' : ' (failed: see the terminal)';
  setState(`${what} ended${how}${e.t === null ? '' : ` at ${e.t.toFixed(1)} s`}`, e.reason === 'failed');
  $('summary').textContent = e.summary ? e.summary.join('\n') : 'no summary';
  $('summary-box').classList.remove('hidden');
  if (info) setControlsOff(info.mode === 'replay' ? info.controlsOff : 'the run has ended');
}

/** E-stopped, stopped or running, from a welcome or a frame (an ended run keeps saying so). */
function showRunState(s) {
  if (ended) return;
  setState(s.eStopped ? `E-STOPPED: ${s.eStopped}` : s.paused ? 'stopped' : 'running', !!s.eStopped);
}

function onFrame(f) {
  if (!info) return;
  frame = f;
  unacked = f.seq;
  for (const e of f.events) {
    if (e.kind === 'flag') flags[e.robot] = { suspicion: e.suspicion, evidence: e.evidence, tick: e.tick };
    if (e.kind === 'clear') delete flags[e.robot];
    if (e.kind === 'on-flag') showOnFlag(e.onFlag);
    logEvent(e);
  }
  info.ids.forEach((_, i) => {
    const x = f.poses[3 * i];
    if (x === null) return;
    const t = trails[i];
    t.push([x / 1000, f.poses[3 * i + 1] / 1000]);
    if (t.length > TRAIL_POINTS) t.shift();
  });
  if (!drawQueued) {
    drawQueued = true;
    requestAnimationFrame(draw);
  }
}

function draw() {
  drawQueued = false;
  const f = frame;
  if (!f || !info) return;
  $('clock').textContent = `t = ${f.t.toFixed(1)} s (tick ${f.tick})`;
  $('detail').textContent = f.detail === 'lite' ? 'reduced detail (slow connection)' : '';
  showRunState(f);
  const flagged = new Set(f.flagged);
  const compromised = new Set(f.compromised || []);
  const isolated = new Set(f.isolated || []);
  arena.draw(f, trails, flagged, compromised);
  const rows = $('robots').tBodies[0].rows;
  info.ids.forEach((id, i) => {
    const tr = rows[i];
    const s = (f.susp[i] ?? 0) / 1000;
    tr.classList.toggle('flagged', flagged.has(i));
    const bar = tr.querySelector('.bar i');
    bar.style.width = `${Math.round(s * 100)}%`;
    bar.style.background = colour(s);
    tr.querySelector('.susp').textContent = s.toFixed(2);
    const x = f.poses[3 * i];
    tr.querySelector('.pose').textContent = x === null ? 'no pose' : `${(x / 1000).toFixed(3)}, ${(f.poses[3 * i + 1] / 1000).toFixed(3)}`;
    tr.querySelector('.flag').textContent = `${flagged.has(i) ? 'FLAGGED' : ''}${isolated.has(i) ? ' ISOLATED' : ''}`;
    const ev = flagged.has(i) && flags[id] ? flags[id].evidence : null;
    const cusum = tr.querySelector('.cusum');
    cusum.classList.toggle('hidden', !ev);
    if (ev) {
      const c = cusumBar(ev.cusum, info.cusumThreshold);
      cusum.querySelector('i').style.width = `${Math.round(c.fill * 100)}%`;
      cusum.title = `CUSUM ${ev.cusum.toFixed(1)}; the mark is its threshold, ${info.cusumThreshold}`;
    }
    tr.querySelector('.evidence').textContent = ev
      ? evidenceText(ev, info.cusumThreshold)
      : f.detail === 'full' && f.stopped.some(([j]) => j === i)
        ? `stopped: ${f.stopped.find(([j]) => j === i)[1]}`
        : '';
    tr.querySelector('.truth').textContent = compromised.has(i) ? 'compromised (ground truth)' : '';
  });
  // Drawn: the server may send the next frame.
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'ack', seq: unacked }));
}

/** One line in the log: the server's, in the terminal's words (a swarm-wide stop is one line). */
function logEvent(e) {
  const line = document.createElement('div');
  line.textContent = e.text;
  const box = $('events');
  box.prepend(line);
  while (box.childNodes.length > 200) box.lastChild.remove();
}

function setState(text, alarm) {
  const el = $('state');
  el.textContent = text;
  el.classList.toggle('alarm', alarm);
}

function say(text, kind) {
  const el = $('message');
  el.textContent = text;
  el.className = kind;
}

function control(action) {
  if (!ws || ws.readyState !== WebSocket.OPEN) return say('not connected', 'error');
  const msg = { type: 'control', id: nextId++, action };
  if (token.value) msg.token = token.value;
  ws.send(JSON.stringify(msg));
}

$('start').onclick = () => control({ kind: 'start' });
$('stop').onclick = () => control({ kind: 'stop' });
$('estop').onclick = () => control({ kind: 'estop', reason: 'dashboard e-stop' });
$('release').onclick = () => control({ kind: 'release' });
$('inject').onclick = () =>
  control({ kind: 'inject', robot: $('inject-robot').value, attack: $('inject-attack').value, seconds: Number($('inject-seconds').value) });
$('end-injection').onclick = () => control({ kind: 'end-injection', robot: $('inject-robot').value });
$('onflag').onclick = () => control({ kind: 'on-flag', onFlag: $('onflag-mode').value });
for (const id of CONTROLS) $(id).dataset.help = $(id).title;

connect();
