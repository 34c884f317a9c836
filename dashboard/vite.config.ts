// Two pages from one build: the dashboard (index.html) and GraphiQL (graphiql.html), both written to
// budsim/web/static/, which budsim serves at `/`, `/assets/*` and `GET /graphql` (budsim/web/static_files.py).
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  root: here("."),
  base: "/",
  // Preact's automatic JSX runtime through Vite's own transformer: no framework plugin needed.
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: here("../budsim/web/static"),
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    // GraphiQL (React + CodeMirror) is large; it is its own page, never loaded by the dashboard.
    chunkSizeWarningLimit: 2000,
    rolldownOptions: {
      input: { index: here("index.html"), graphiql: here("graphiql.html") },
      // GraphiQL's Radix dependencies start with "use client" (a React Server Components marker): meaningless in a
      // browser bundle, and rolldown says so once per file.
      onLog(level, log, handler) {
        if (log.code !== "MODULE_LEVEL_DIRECTIVE") handler(level, log);
      },
    },
  },
  server: {
    // The operations live beside the Python package that serves them (budsim/web/operations/).
    fs: { allow: [here("..")] },
    proxy: { "/graphql": { target: "http://127.0.0.1:9083", ws: true }, "/readyz": "http://127.0.0.1:9083" },
  },
});
