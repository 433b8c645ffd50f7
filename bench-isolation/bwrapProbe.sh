#!/bin/sh
# (d) node under bubblewrap: startup cost, and what a process that is fully broken (no Node permission model) can do inside.
# usage: sh bench-isolation/bwrapProbe.sh
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
W=$(mktemp -d /tmp/loom-bwrap-XXXXXX)   # the "session folder": writable inside
cat > "$W/t.c" <<'C'
int loom_probe(void) { return 42; }
C
cc -shared -fPIC -o "$W/probe.so" "$W/t.c" && cp "$W/probe.so" "$HERE/.probe.so" 2>/dev/null
BW="bwrap --ro-bind /usr /usr --symlink usr/lib /lib --symlink usr/lib64 /lib64 --symlink usr/bin /bin --ro-bind $HERE $HERE --bind $W $W --proc /proc --dev /dev --unshare-net --unshare-pid --unshare-ipc --unshare-uts --die-with-parent --new-session --clearenv --setenv LOOM_OK 1"
python3 - "$W" <<'PY' &
import socket,sys,time
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', 47311)); s.listen(5); s.settimeout(20)
try:
  while True: c,_=s.accept(); c.close()
except Exception: pass
PY
sleep 0.5
t() { s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }
echo "startup ms, node -e 0:        $(t node -e 0) $(t node -e 0) $(t node -e 0) $(t node -e 0) $(t node -e 0)"
echo "startup ms, bwrap node -e 0:  $(t $BW /usr/bin/node -e 0) $(t $BW /usr/bin/node -e 0) $(t $BW /usr/bin/node -e 0) $(t $BW /usr/bin/node -e 0) $(t $BW /usr/bin/node -e 0)"
echo "startup ms, bwrap true:       $(t $BW /usr/bin/true) $(t $BW /usr/bin/true) $(t $BW /usr/bin/true)"
PROBE='
const net=require("net"), fs=require("fs"), cp=require("child_process");
const r={};
r.env=Object.keys(process.env).join(",");
try { fs.readdirSync(process.env.HOMEDIR + "/.ssh"); r.ssh="READABLE" } catch(e) { r.ssh=e.code }
try { fs.readFileSync("/etc/passwd"); r.etcPasswd="READABLE" } catch(e) { r.etcPasswd=e.code }
try { fs.writeFileSync("/usr/x","x"); r.writeUsr="WROTE" } catch(e) { r.writeUsr=e.code }
try { fs.writeFileSync(process.argv[1]+"/w","x"); r.writeSession="WROTE" } catch(e) { r.writeSession=e.code }
try { fs.writeFileSync("/dev/shm/x","x"); r.writeDevShm="WROTE" } catch(e) { r.writeDevShm=e.code }
try { const m={exports:{}}; process.dlopen(m, process.argv[1]+"/probe.so"); r.dlopenSession="LOADED" } catch(e) { r.dlopenSession=(e.code||"")+" "+e.message.slice(0,50) }
try { r.spawn=cp.execFileSync("/usr/bin/id").toString().trim() } catch(e) { r.spawn=e.code }
const s=net.connect(47311,"127.0.0.1"); s.on("connect",()=>{r.tcpHost="CONNECTED"; s.destroy(); done()}); s.on("error",(e)=>{r.tcpHost=e.code; done()});
function done(){ console.log(JSON.stringify(r)) }'
echo "inside bwrap, no Node permission model:"
$BW --setenv HOMEDIR "$HOME" /usr/bin/node -e "$PROBE" "$W"
echo "inside bwrap + --permission (read: the probe folder; write: the session folder; no addons, no child processes):"
$BW --setenv HOMEDIR "$HOME" /usr/bin/node --experimental-permission --allow-fs-read=$W --allow-fs-write=$W --disable-warning=ExperimentalWarning -e "$PROBE" "$W"
echo "no bwrap, --permission only, HOME visible, env passed:"
CANARY=secret HOMEDIR="$HOME" /usr/bin/node --experimental-permission --allow-fs-read=$W --allow-fs-write=$W --disable-warning=ExperimentalWarning -e "$PROBE" "$W" | sed 's/"env":"[^"]*"/"env":"(all of the parent'"'"'s: '"$(env | wc -l)"' vars)"/'
echo "no bwrap, --permission + --allow-addons (today's loom serve engine):"
/usr/bin/node --experimental-permission --allow-fs-read=$W --allow-fs-write=$W --allow-addons --disable-warning=ExperimentalWarning -e "$PROBE" "$W" | sed 's/"env":"[^"]*",//'
kill %1 2>/dev/null; rm -rf "$W" "$HERE/.probe.so"
