// Shared by pds.mjs and firehose_consumer.mjs: loads the pinned @atproto
// packages from the cache directory setup.sh installed them into (the scripts
// live in the source tree, the packages do not), and parses --name value flags.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

export const cacheDir = () =>
  process.env.FAULTLINE_NPM_CACHE || path.resolve(here, '../../../build/npm-interop');

export async function load(name) {
  const require = createRequire(path.join(cacheDir(), 'package.json'));
  let file;
  try {
    file = require.resolve(name);
  } catch (err) {
    throw new Error(`${name} is not installed in ${cacheDir()}: run relay/tests/interop/setup.sh (${err.message})`);
  }
  return import(pathToFileURL(file).href);
}

// --flag value / --flag=value / --switch; defaults give the known flags and
// their types (number, string, boolean). Unknown flags are an error.
export function parseArgs(argv, defaults, usage) {
  const out = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') {
      console.error(usage);
      process.exit(0);
    }
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(a);
    const key = m && m[1].replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!m || !(key in defaults)) {
      console.error(`unknown argument: ${a}\n${usage}`);
      process.exit(2);
    }
    if (typeof defaults[key] === 'boolean') {
      out[key] = m[2] === undefined ? true : m[2] !== 'false';
      continue;
    }
    const v = m[2] ?? argv[++i];
    if (v === undefined) {
      console.error(`--${m[1]} needs a value\n${usage}`);
      process.exit(2);
    }
    if (typeof defaults[key] === 'number') {
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) {
        console.error(`--${m[1]}: not a non-negative number: ${v}`);
        process.exit(2);
      }
      out[key] = n;
    } else {
      out[key] = v;
    }
  }
  return out;
}
