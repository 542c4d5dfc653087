// The `tsws` CLI with the `node` worker class (node:http inside): the Node listener version of
// the app, which is what the class is for, and the fetch app through its adapter.
import { cliServer, FETCH_APP, NODE_APP } from '../cli.mjs';

const nodeClass = (app, what) =>
  cliServer({
    name: `tsws -k node (${what})`,
    about: `\`tsws -k node ${app}\`: the node:http worker class, ${what === 'node app' ? 'a Node (req, res) listener' : "the fetch app through the class's adapter"}`,
    // The speed targets are the core's; this class is node:http inside.
    ratioTargets: false,
    package: 'worker',
    bin: 'tsws.js',
    built: 'dist/cli.js',
    app,
    args: ['--worker-class', 'node'],
    flags: ['--worker-class'],
  });

export default [nodeClass(NODE_APP, 'node app'), nodeClass(FETCH_APP, 'fetch app')];
