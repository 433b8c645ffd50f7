// Builds the UI (renderer/) into static files that `loom serve` and Electron
// load from their own origin: one ES module with its CSS and fonts, Monaco's
// two workers, and index.html. `npm run build`; `loom serve` calls it when dist/ is missing.
import { build, type Metafile, type Plugin } from 'esbuild'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { repoRoot } from './repoRoot.js'
import { writeBuildMeta } from './bundleStale.js'

// Found, not assumed: the bundled CLI (dist/engine/) carries this script too.
const root = repoRoot(import.meta.url)

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
  // Before index.html, the file whose age says when the bundle was built (scripts/bundleStale.js).
  writeBuildMeta(out, Object.keys(inputs))
  await writeFile(join(out, 'index.html'), withModulePreloads(await readFile(join(root, 'renderer/index.html'), 'utf8'), app.metafile, out))
}

/**
 * index.html with a modulepreload link for every chunk main.js imports,
 * however deep: the browser then fetches and parses them all at once, on
 * its background threads, instead of finding each chunk only once the
 * module importing it has been parsed (about 0.1 s of Monaco each time).
 */
function withModulePreloads(html: string, metafile: Metafile, out: string): string {
  const name = (path: string) => relative(out, resolve(root, path)).split(sep).join('/')
  const byName = new Map(Object.entries(metafile.outputs).map(([path, output]) => [name(path), output]))
  const needed = new Set<string>()
  const visit = (file: string) => {
    for (const i of byName.get(file)?.imports ?? []) {
      const chunk = name(i.path)
      if (i.kind === 'import-statement' && !needed.has(chunk)) {
        needed.add(chunk)
        visit(chunk)
      }
    }
  }
  visit('main.js')
  const links = [...needed].sort().map((chunk) => `<link rel="modulepreload" href="${chunk}">`).join('\n')
  if (!html.includes('<script type="module" src="boot.js">')) throw new Error('renderer/index.html no longer loads boot.js: update the build\'s modulepreload links')
  return html.replace('<script type="module" src="boot.js">', `${links}\n<script type="module" src="boot.js">`)
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outdir = process.argv[2] ?? 'dist/renderer'
  const started = performance.now()
  await buildRenderer(outdir)
  console.log(`built the UI into ${outdir} in ${Math.round(performance.now() - started)} ms`)
}
