// Bundles every js/*.ts entry (one per widget) into src/canvasback/static/<entry>.js.
//
//   node js/build.mjs            one minified build (npm run build)
//   node js/build.mjs --watch    rebuild on change, inline source maps (npm run dev)
//
// Each bundle is self-contained: anywidget loads `_esm` from a blob URL, where relative
// chunk imports cannot resolve, so code splitting stays off and CSS is inlined as text.
import * as esbuild from "esbuild";
import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const jsDir = join(root, "js");
const outdir = join(root, "src", "canvasback", "static");
const watch = process.argv.includes("--watch");

const entryPoints = readdirSync(jsDir)
  .filter((name) => name.endsWith(".ts") && !name.endsWith(".d.ts") && !name.endsWith(".test.ts"))
  .sort()
  .map((name) => join(jsDir, name));
if (entryPoints.length === 0) {
  throw new Error(`no widget entries (*.ts) in ${jsDir}`);
}

// A bundle left behind by a renamed or deleted entry would still ship in the wheel.
if (existsSync(outdir)) {
  for (const name of readdirSync(outdir)) {
    if (/\.(js|css|map)$/.test(name)) rmSync(join(outdir, name));
  }
}
mkdirSync(outdir, { recursive: true });

/** @type {import("esbuild").BuildOptions} */
const options = {
  entryPoints,
  outdir,
  bundle: true,
  format: "esm",
  splitting: false,
  target: "es2022",
  platform: "browser",
  minify: !watch,
  sourcemap: watch ? "inline" : false,
  legalComments: "none",
  // vega's UMD wrappers would otherwise register with a page's AMD loader (require.js in
  // classic notebooks) instead of returning their exports.
  define: { "define.amd": "false" },
  loader: { ".css": "text" },
  logLevel: "info",
};

if (watch) {
  const context = await esbuild.context(options);
  await context.watch();
} else {
  await esbuild.build(options);
}
