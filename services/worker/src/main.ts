// The worker process's entry: `node services/worker/dist/main.js` (without --enable-source-maps).
//
// Source-mapped stack traces (TypeScript lines in the logs) are switched on here, for this thread only,
// before anything else loads. The workflow sandbox runs in a worker thread of its own, which keeps Node's
// source-map support off: there the Temporal SDK captures a stack trace for every promise a workflow
// creates (for its stack-trace query) and compiles a function to do so, and with source maps on, Node scans
// each of those for a source-map comment. Measured with the engine benchmark: the plan's workflow tasks
// took about 1.5 ms less each (the SDK still maps workflow stacks through the bundle's own source map).
process.setSourceMapsEnabled(true);
await import('./run.js');
