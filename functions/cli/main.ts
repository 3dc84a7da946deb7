// The program the command (bin.ts) loads: runs the command line of this process and sets its exit code.
import { errorText } from '../../lib/errors/error-text.js';
import { main, PROGRAM } from './command.js';

main(process.argv.slice(2), process.env).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${PROGRAM}: internal error: ${errorText(error)}\n`);
    process.exitCode = 1;
  },
);
