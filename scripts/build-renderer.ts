// Builds the UI (renderer/) into static files that `loom serve` and Electron
// load from their own origin: one ES module with its CSS and fonts, Monaco's
// two workers, and index.html. `npm run build`; `loom serve` calls it when dist/ is missing.
import { build, type Metafile, type Plugin } from 'esbuild'
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/** The name of the file, beside index.html, that lists every source file the bundle was made from. */
export const METAFILE = 'build-meta.json'

/** `import text from 'loom:api-types'`: the cell API's declarations, as text for Monaco. */
const apiTypes: Plugin = {
  name: 'loom-api-types',
  setup(b) {
    b.onResolve({ filter: /^loom:api-types$/ }, () => ({ path: join(root, 'renderer/notebook/loom-api.d.ts'), namespace: 'loom-text' }))
    b.onLoad({ filter: /.*/, namespace: 'loom-text' }, async (args) => ({ contents: await readFile(args.path, 'utf8'), loader: 'text' }))
  },
}

/**
 * y-monaco imports Monaco's whole API entry; it gets the app's own Monaco
 * instead (renderer/share/monacoApi.ts re-exports what it uses from
 * renderer/notebook/monaco.ts), so the bundle holds one Monaco, set up once.
 */
const oneMonaco: Plugin = {
  name: 'loom-one-monaco',
  setup(b) {
    b.onResolve({ filter: /^monaco-editor(\/esm\/vs\/editor\/editor\.(api|main)(\.js)?)?$/ }, () => ({ path: join(root, 'renderer/share/monacoApi.ts') }))
  },
}

export async function buildRenderer(outdir = 'dist/renderer'): Promise<void> {
  const out = resolve(root, outdir)
  await rm(out, { recursive: true, force: true })
  await mkdir(out, { recursive: true })
  const common = {
    absWorkingDir: root,
    bundle: true,
    minify: true,
    sourcemap: 'linked',
    platform: 'browser',
    target: 'chrome120',
    legalComments: 'linked',
    logLevel: 'error',
    outdir: out,
  } as const
  const [app, workers] = await Promise.all([
    build({
      ...common,
      // boot.js is the page's first script: a few KB that connect to the engine while main.js is fetched,
      // parsed and evaluated. What both use (the connection) is one shared chunk, so one module instance.
      entryPoints: { boot: 'renderer/boot.ts', main: 'renderer/main.ts' },
      format: 'esm',
      splitting: true,
      // Beside main.js, where Monaco looks for its workers.
      chunkNames: 'chunk-[hash]',
      loader: { '.ttf': 'file', '.woff': 'file', '.woff2': 'file' },
      assetNames: 'assets/[name]-[hash]',
      plugins: [apiTypes, oneMonaco],
      metafile: true,
    }),
    build({
      ...common,
      entryPoints: {
        'editor.worker': 'monaco-editor/editor/editor.worker',
        'ts.worker': 'monaco-editor/languages/features/typescript/ts.worker',
      },
      format: 'iife',
      metafile: true,
    }),
  ])
  const inputs: Metafile['inputs'] = { ...app.metafile.inputs, ...workers.metafile.inputs }
  await writeFile(join(out, METAFILE), JSON.stringify({ inputs: Object.keys(inputs).sort() }, null, 1))
  await copyFile(join(root, 'renderer/index.html'), join(out, 'index.html'))
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outdir = process.argv[2] ?? 'dist/renderer'
  const started = performance.now()
  await buildRenderer(outdir)
  console.log(`built the UI into ${outdir} in ${Math.round(performance.now() - started)} ms`)
}
