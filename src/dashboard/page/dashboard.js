// The swarmguard dashboard page: draws the frames the server streams (arena, robots, headings, trails,
// suspicion, flags with their evidence, the ground truth in trials) and sends the operator's controls with
// the token from the URL fragment (#token=..., never sent to the server with the page request).
'use strict';

const TRAIL_POINTS = 120;
const $ = (id) => document.getElementById(id);
const token = $('token');
token.value = new URLSearchParams(location.hash.slice(1)).get('token') || '';

let ws = null;
let info = null; // the welcome: ids, arena, radii, trial mode...
let frame = null; // the latest frame
let trails = [];
let flags = {}; // robot id -> {suspicion, evidence, tick}
let nextId = 1;
let drawQueued = false;
let unacked = 0;

function connect() {
  ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
  ws.onmessage = (m) => receive(JSON.parse(m.data));
  ws.onclose = () => {
    setState('disconnected: reconnecting...', true);
    setTimeout(connect, 1000);
  };
}

function receive(msg) {
  switch (msg.type) {
    case 'auth-needed':
      if (token.value) ws.send(JSON.stringify({ type: 'hello', token: token.value }));
      else say('viewing this dashboard needs the token (open the URL printed at start-up)', 'error');
      return;
    case 'welcome':
      welcome(msg);
      return;
    case 'frame':
      onFrame(msg);
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
  flags = { ...w.flags };
  trails = w.ids.map(() => []);
  $('title').textContent = `swarmguard: ${w.title}`;
  $('mode').textContent = w.mode === 'replay' ? '(replay: no controls)' : w.trialMode ? '(trial)' : '';
  const body = $('robots').tBodies[0];
  body.replaceChildren(
    ...w.ids.map((id) => {
      const tr = document.createElement('tr');
      tr.dataset.robot = id;
      tr.innerHTML = '<td class="id"></td><td><span class="bar"><i></i><b></b></span> <span class="susp"></span></td><td class="pose"></td><td><span class="flag"></span> <span class="evidence"></span> <span class="truth"></span></td>';
      tr.querySelector('.id').textContent = id;
      tr.querySelector('.bar b').style.left = `${w.flagAt * 100}%`;
      return tr;
    }),
  );
  $('inject-form').classList.toggle('hidden', !(w.trialMode && w.mode === 'live'));
  $('inject-robot').replaceChildren(...w.ids.map((id) => new Option(id, id)));
  $('inject-attack').replaceChildren(...w.attacks.map((a) => new Option(a, a)));
  $('events').replaceChildren();
  for (const e of w.events) logEvent(e);
  setState(w.eStopped ? `E-STOPPED: ${w.eStopped}` : w.paused ? 'stopped' : 'running', !!w.eStopped);
}

function onFrame(f) {
  if (!info) return;
  frame = f;
  unacked = f.seq;
  for (const e of f.events) {
    if (e.kind === 'flag') flags[e.robot] = { suspicion: e.suspicion, evidence: e.evidence, tick: e.tick };
    if (e.kind === 'clear') delete flags[e.robot];
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

function colour(s, alpha = 1) {
  return `hsla(${Math.round(120 * (1 - Math.min(1, Math.max(0, s))))}, 75%, 45%, ${alpha})`;
}

function draw() {
  drawQueued = false;
  const f = frame;
  if (!f || !info) return;
  $('clock').textContent = `t = ${f.t.toFixed(1)} s (tick ${f.tick})`;
  $('detail').textContent = f.detail === 'lite' ? 'reduced detail (slow connection)' : '';
  setState(f.eStopped ? `E-STOPPED: ${f.eStopped}` : f.paused ? 'stopped' : 'running', !!f.eStopped);
  drawArena(f);
  const flagged = new Set(f.flagged);
  const compromised = new Set(f.compromised || []);
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
    tr.querySelector('.flag').textContent = flagged.has(i) ? 'FLAGGED' : '';
    const ev = flagged.has(i) && flags[id] ? flags[id].evidence : null;
    tr.querySelector('.evidence').textContent = ev
      ? `consistency ${ev.consistency.toFixed(2)} (cusum ${ev.cusum.toFixed(1)})${ev.belief === null ? '' : `, belief ${ev.belief.toFixed(2)} from ${ev.observers} observers`}`
      : f.detail === 'full' && f.stopped.some(([j]) => j === i)
        ? `stopped: ${f.stopped.find(([j]) => j === i)[1]}`
        : '';
    tr.querySelector('.truth').textContent = compromised.has(i) ? 'compromised (ground truth)' : '';
  });
  // Drawn: the server may send the next frame.
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'ack', seq: unacked }));
}

function drawArena(f) {
  const canvas = $('arena');
  const ctx = canvas.getContext('2d');
  const { width, height } = info.arena;
  const pad = 10;
  const scale = Math.min((canvas.width - 2 * pad) / width, (canvas.height - 2 * pad) / height);
  const px = (x) => pad + x * scale;
  const py = (y) => canvas.height - pad - y * scale; // y up
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.strokeStyle = '#333';
  ctx.lineWidth = 2;
  ctx.strokeRect(px(0), py(height), width * scale, height * scale);
  const flagged = new Set(f.flagged);
  const compromised = new Set(f.compromised || []);
  info.ids.forEach((id, i) => {
    const s = (f.susp[i] ?? 0) / 1000;
    const t = trails[i];
    if (t.length > 1) {
      ctx.strokeStyle = colour(s, 0.35);
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      t.forEach(([x, y], k) => (k ? ctx.lineTo(px(x), py(y)) : ctx.moveTo(px(x), py(y))));
      ctx.stroke();
    }
    if (f.poses[3 * i] === null) return;
    const x = px(f.poses[3 * i] / 1000);
    const y = py(f.poses[3 * i + 1] / 1000);
    const th = f.poses[3 * i + 2] / 1000;
    const r = Math.max(4, info.bodyRadius[i] * scale);
    ctx.fillStyle = colour(s);
    ctx.beginPath();
    ctx.arc(x, y, r, 0, 2 * Math.PI);
    ctx.fill();
    ctx.strokeStyle = '#111';
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(x, y);
    ctx.lineTo(x + 1.6 * r * Math.cos(th), y - 1.6 * r * Math.sin(th));
    ctx.stroke();
    if (flagged.has(i)) {
      ctx.strokeStyle = '#b91c1c';
      ctx.lineWidth = 3;
      ctx.beginPath();
      ctx.arc(x, y, r + 5, 0, 2 * Math.PI);
      ctx.stroke();
    }
    if (compromised.has(i)) {
      ctx.strokeStyle = '#7c3aed';
      ctx.setLineDash([4, 3]);
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.arc(x, y, r + 10, 0, 2 * Math.PI);
      ctx.stroke();
      ctx.setLineDash([]);
    }
    ctx.fillStyle = '#111';
    ctx.font = '12px sans-serif';
    ctx.fillText(id, x + r + 3, y - r - 3);
  });
}

function logEvent(e) {
  const line = document.createElement('div');
  const t = info ? (e.tick * info.controlPeriod).toFixed(1) : e.tick;
  const what =
    e.kind === 'flag' ? `FLAG ${e.robot} suspicion ${e.suspicion.toFixed(2)}` :
    e.kind === 'clear' ? `CLEAR ${e.robot}` :
    e.kind === 'injection-start' ? `INJECT ${e.robot}: ${e.attack}` :
    e.kind === 'injection-end' ? `RESTORE ${e.robot}` :
    e.kind === 'stop' ? `STOP ${e.robot}: ${e.reason}` :
    `${e.kind.toUpperCase()} ${e.reason}`;
  line.textContent = `${t} s  ${what}`;
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

connect();
