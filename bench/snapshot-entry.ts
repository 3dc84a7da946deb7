// The CLI as a V8 startup snapshot (node --build-snapshot): every module evaluated when the snapshot
// is built, the command line run when a process starts from it. The benchmark builds it to measure
// it beside the compile cache; the image ships whichever is faster.
import v8 from 'node:v8';
import { main } from '../functions/cli/command.js';

v8.startupSnapshot.setDeserializeMainFunction(() => {
  // Started as `node --snapshot-blob FILE ARGS...`: the arguments follow the program.
  void main(process.argv.slice(1), process.env).then((code) => {
    process.exitCode = code;
  });
});
