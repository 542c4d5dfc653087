// Preloaded for `--profile`: --cpu-prof writes its profile only on a normal exit, so SIGTERM
// (how the runner stops servers) exits normally.
process.on('SIGTERM', () => process.exit(0));
