// One refresh-token grant with jsforce, as a Node script would do it:
//   node bench/refresh_jsforce.js LOGIN_URL CLIENT_ID TOKEN_FILE [--loop N]
// Reads refresh_token from TOKEN_FILE (a Salesforce token JSON file) and calls
// new jsforce.OAuth2({clientId, loginUrl}).refreshToken(rt), which POSTs the form to
// LOGIN_URL/services/oauth2/token. Exits non-zero on any failure.
// With --loop N (1..1000) it also times N refreshes in this one process and prints JSON:
// {"load_ms": time to require jsforce, "median_ms", "p90_ms", "n"}.
'use strict';
const t0 = process.hrtime.bigint();
const path = require('path');
const fs = require('fs');
const jsforce = require(path.join(__dirname, '.node', 'node_modules', 'jsforce'));
const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;

async function main() {
  const [loginUrl, clientId, tokenFile, flag, count] = process.argv.slice(2);
  if (!loginUrl || !clientId || !tokenFile) {
    throw new Error('usage: refresh_jsforce.js LOGIN_URL CLIENT_ID TOKEN_FILE [--loop N]');
  }
  const rt = JSON.parse(fs.readFileSync(tokenFile, 'utf8')).refresh_token;
  const oauth2 = new jsforce.OAuth2({ clientId, loginUrl });
  if (flag !== '--loop') {
    const res = await oauth2.refreshToken(rt);
    if (!res || !res.access_token) throw new Error('no access_token in the answer');
    return;
  }
  const n = Number(count);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new Error('--loop N: 1..1000');
  const times = [];
  const deadline = Date.now() + 60_000; // bounded in count and in time
  for (let i = 0; i < n && Date.now() < deadline; i++) {
    const s = process.hrtime.bigint();
    const res = await oauth2.refreshToken(rt);
    times.push(Number(process.hrtime.bigint() - s) / 1e6);
    if (!res || !res.access_token) throw new Error('no access_token in the answer');
  }
  times.sort((a, b) => a - b);
  const q = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
  console.log(JSON.stringify({ load_ms: loadMs, median_ms: q(0.5), p90_ms: q(0.9), n: times.length }));
}

main().catch((e) => {
  console.error(`refresh_jsforce: ${e && e.message ? e.message : e}`);
  process.exit(1);
});
