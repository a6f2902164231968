// Serves the built sign-in page (dist/) and its config.json on 127.0.0.1, for `make demo` and the
// browser tests. One server can hold several configurations, each under its own path prefix
// (`/e2e-choice/` serves the page configured for that stack); the empty prefix is `/`.
//
//   node web/serve.mjs --port 4600 --config .ministack/4599/page.json
//
// Only the page's own files are served, by name: nothing else on disk is reachable.

import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { fileURLToPath } from 'node:url';

const DIST = new URL('dist/', import.meta.url);
const FILES = {
  '': ['index.html', 'text/html; charset=utf-8'],
  'index.html': ['index.html', 'text/html; charset=utf-8'],
  'app.js': ['app.js', 'text/javascript; charset=utf-8'],
  'style.css': ['style.css', 'text/css; charset=utf-8'],
};

/**
 * Starts the server; resolves to { url, close } once it listens. `configs` maps a path prefix
 * ('' for the root) to the object served as that prefix's config.json.
 */
export async function serve({ configs, port = 0 }) {
  const cache = new Map();
  for (const [, [file]] of Object.entries(FILES)) {
    cache.set(file, await readFile(new URL(file, DIST)));
  }
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname.replace(/^\/+/, '');
    const cut = path.indexOf('/');
    const prefix = cut >= 0 ? path.slice(0, cut) : '';
    let name = cut >= 0 ? path.slice(cut + 1) : path;
    if (cut < 0 && name !== '' && Object.hasOwn(configs, name)) {
      // `/e2e-choice` without its slash: send the browser to the directory, so relative URLs work.
      res.writeHead(308, { Location: `/${name}/` }).end();
      return;
    }
    if (!Object.hasOwn(configs, prefix)) {
      name = '\0';
    }
    const headers = {
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, headers).end();
    } else if (name === 'config.json') {
      res.writeHead(200, { ...headers, 'Content-Type': 'application/json' });
      res.end(JSON.stringify(configs[prefix]));
    } else if (Object.hasOwn(FILES, name)) {
      const [file, type] = FILES[name];
      res.writeHead(200, { ...headers, 'Content-Type': type }).end(cache.get(file));
    } else {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' }).end('not found\n');
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const { port: bound } = server.address();
  return {
    url: `http://127.0.0.1:${bound}/`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (flag) => {
    const i = process.argv.indexOf(flag);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const configPath = arg('--config');
  if (!configPath) {
    console.error('usage: node web/serve.mjs --port PORT --config CONFIG.json');
    process.exit(2);
  }
  const config = JSON.parse(await readFile(configPath, 'utf8'));
  const { url } = await serve({ configs: { '': config }, port: Number(arg('--port') ?? 0) });
  console.log(url);
}
