// PM2 cluster mode: the process manager users compare a pre-fork master with. Its place is kept
// here; it lands with the master benchmarks (issue 4, second part): add pm2 as a root
// devDependency, run `pm2-runtime` in the foreground (so it is one process group) with
// `-i <workers>` over a node:http program, and `reload` as `pm2 reload`.
export default {
  name: 'PM2 cluster',
  about: 'pm2-runtime -i 2, node:http app',
  unavailable: () => 'not set up yet: comes with the master benchmarks (pm2 is not a devDependency)',
  command: () => {
    throw new Error('PM2 is not set up');
  },
};
