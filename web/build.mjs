// Bundles the sign-in page into dist/: app.js (the page's code with Amplify's auth, minified),
// index.html and style.css as they are. config.json is not part of the build: whoever serves
// the page writes it for their stack (serve.mjs, `make demo`).
import { build } from 'esbuild';
import { copyFile, mkdir, rm } from 'node:fs/promises';

const here = new URL('.', import.meta.url);
const dist = new URL('dist/', here);
await rm(dist, { recursive: true, force: true });
await mkdir(dist, { recursive: true });
const result = await build({
  entryPoints: [new URL('src/app.js', here).pathname],
  outfile: new URL('app.js', dist).pathname,
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2022'],
  legalComments: 'linked',
  metafile: true,
  logLevel: 'warning',
});
for (const file of ['index.html', 'style.css']) {
  await copyFile(new URL(`src/${file}`, here), new URL(file, dist));
}
const bytes = result.metafile.outputs['dist/app.js']?.bytes
  ?? Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
console.log(`web/dist: app.js ${(bytes / 1024).toFixed(0)} KiB, index.html, style.css`);
