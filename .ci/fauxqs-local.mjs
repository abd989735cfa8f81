// Starts fauxqs (an SQS-compatible server, npm package "fauxqs") bound to
// one address only. fauxqs 2.4.1 always listens on 0.0.0.0 (dist/app.js calls
// app.listen({ port, host: "0.0.0.0" })), so this wrapper patches
// net.Server.prototype.listen to replace the host of every TCP listen with
// FAUXQS_BIND (default 127.0.0.1) before fauxqs starts.
//
// Usage: node fauxqs-local.mjs <path to node_modules/fauxqs>
// Env:   FAUXQS_BIND (default 127.0.0.1), FAUXQS_PORT (default 4566),
//        FAUXQS_LOGGER ("true" logs every request; default false).
// Started by .ci/fauxqs.sh; see that script for the full set-up.
import net from "node:net";
import path from "node:path";
import { pathToFileURL } from "node:url";

const bindHost = process.env.FAUXQS_BIND || "127.0.0.1";
const port = Number.parseInt(process.env.FAUXQS_PORT || "4566", 10);
const pkgDir = process.argv[2];
if (!pkgDir) {
  console.error("usage: node fauxqs-local.mjs <path to node_modules/fauxqs>");
  process.exit(2);
}

const isPort = (v) => typeof v === "number" || (typeof v === "string" && /^\d+$/.test(v));
const originalListen = net.Server.prototype.listen;
net.Server.prototype.listen = function listen(...args) {
  const first = args[0];
  if (first !== null && typeof first === "object" && !("path" in first) && !("fd" in first) && !("_handle" in first) && !("handle" in first)) {
    // listen(options[, cb]): a TCP listen unless it names a pipe or handle.
    args[0] = { ...first, host: bindHost };
  } else if (isPort(first)) {
    // listen(port[, host][, backlog][, cb])
    if (typeof args[1] === "string") {
      args[1] = bindHost;
    } else {
      args.splice(1, 0, bindHost);
    }
  }
  return originalListen.apply(this, args);
};

const { startFauxqs } = await import(pathToFileURL(path.join(pkgDir, "dist", "app.js")).href);
const server = await startFauxqs({ port, logger: process.env.FAUXQS_LOGGER === "true" });
console.log(`fauxqs listening on http://${bindHost}:${server.port} (pid ${process.pid})`);

const stop = async (signal) => {
  console.log(`fauxqs: ${signal}, stopping`);
  try {
    await server.stop();
  } finally {
    process.exit(0);
  }
};
process.on("SIGTERM", () => stop("SIGTERM"));
process.on("SIGINT", () => stop("SIGINT"));
