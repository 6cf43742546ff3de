// The swarmguard command line: parses the arguments (program.ts) and turns errors into exit codes.
import { CommanderError } from 'commander';
import { UserError } from '../core/user-error.js';
import { SilentRobotsError } from '../runtime/link.js';
import { buildProgram } from './program.js';

/** Exit code of a usage error (a bad flag or argument) and of input refused (UserError: config, policy folder, recording, attack...). */
const USAGE_ERROR = 2;

const program = buildProgram();

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // Commander has printed its message; --help and --version end with 0.
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : USAGE_ERROR);
  if (err instanceof SilentRobotsError) {
    console.error(`swarmguard: ${err.message}`);
    process.exit(1);
  }
  // Bad input (UserError and its kinds: ConfigError, PolicyFolderError, RecordingError, ...) is one line;
  // anything else is a bug and keeps its stack.
  if (err instanceof UserError) {
    console.error(`swarmguard: ${err.message}`);
    process.exit(USAGE_ERROR);
  }
  throw err;
}
