// (c) isolated-vm: a counter-like transaction (read count, write count+1, output) per crossing,
// against the same in a node:vm context (what the engine does today), and a batch loop inside the isolate.
const vm = require('node:vm')
const ivm = require('../.probe/ivm/node_modules/isolated-vm')
const N = Number(process.argv[2] ?? 200_000)
const src = 'function step(tx) { const c = tx.read; return { writes: [{ state: "count", op: "set", value: c + 1 }], tty: c % 1000 === 0 ? "x" : undefined } }'
function rate(fn) { fn(2000); const t0 = performance.now(); fn(N); return Math.round(N / (performance.now() - t0) * 1000) }
const ctx = vm.createContext({}); vm.runInContext(src, ctx); const vmStep = vm.runInContext('step', ctx)
const out = { N }
out.nodeVm = rate((n) => { let c = 0; for (let i = 0; i < n; i++) { const r = vmStep({ read: c }); c = r.writes[0].value } })
const iso = new ivm.Isolate({ memoryLimit: 128 }); const ic = iso.createContextSync(); iso.compileScriptSync(src).runSync(ic)
const ref = ic.global.getSync('step', { reference: true })
out.ivmCopyPerStep = rate((n) => { let c = 0; for (let i = 0; i < n; i++) { const r = ref.applySync(undefined, [{ read: c }], { arguments: { copy: true }, result: { copy: true } }); c = r.writes[0].value } })
// JSON across, like a message: one string each way
iso.compileScriptSync('function stepJson(s) { return JSON.stringify(step(JSON.parse(s))) }').runSync(ic)
const refJ = ic.global.getSync('stepJson', { reference: true })
out.ivmJsonPerStep = rate((n) => { let c = 0; for (let i = 0; i < n; i++) { const r = JSON.parse(refJ.applySync(undefined, [JSON.stringify({ read: c })])); c = r.writes[0].value } })
// the transaction loop inside the isolate, one crossing per batch of 1000 (the engine moved in)
iso.compileScriptSync('function batch(c, n) { const out = []; for (let i = 0; i < n; i++) { const r = step({ read: c }); c = r.writes[0].value; out.push(c) } return c }').runSync(ic)
const refB = ic.global.getSync('batch', { reference: true })
out.ivmBatchInside = rate((n) => { let c = 0; for (let i = 0; i < n; i += 1000) c = refB.applySync(undefined, [c, 1000]) })
console.log(JSON.stringify(out))
